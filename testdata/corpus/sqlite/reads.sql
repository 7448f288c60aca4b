-- SQLite reads. Format: ../README.md.
-- ----
EXPLAIN QUERY PLAN SELECT * FROM track WHERE genre_id = 1
-- ----
SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name
-- ----
SELECT name, sql FROM sqlite_schema WHERE name = 'track'
-- ----
SELECT * FROM pragma_table_info('track')
-- ----
SELECT * FROM pragma_index_list('track')
-- ----
SELECT * FROM pragma_foreign_key_list('track')
-- ----
SELECT * FROM pragma_table_list
-- ----
SELECT m.name, p.name AS col FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY 1, p.cid
-- ----
SELECT json_extract('{"a": 1}', '$.a'), '{"b": 2}' -> '$.b', '{"b": 2}' ->> '$.b'
-- ----
SELECT json_group_array(name) FROM genre
-- ----
SELECT json_object('id', track_id, 'name', name) FROM track LIMIT 3
-- ----
SELECT count(*) FILTER (WHERE genre_id = 1) AS rock, count(*) FILTER (WHERE unit_price > 0.99) AS pricey FROM track
-- ----
SELECT group_concat(name, ', ') FROM genre
-- ----
SELECT strftime('%Y-%m', invoice_date) AS month, sum(total) FROM invoice GROUP BY month ORDER BY month
-- ----
SELECT iif(milliseconds > 300000, 'long', 'short'), count(*) FROM track GROUP BY 1
-- ----
SELECT [update], `delete`, "into" FROM (SELECT 1 AS [update], 2 AS `delete`, 3 AS "into")
-- ----
SELECT typeof(total), typeof(invoice_date) FROM invoice LIMIT 1
-- ----
SELECT printf('%5.2f', total), hex(first_name), quote(last_name) FROM invoice JOIN customer USING (customer_id) LIMIT 3
-- ----
SELECT sqlite_version(), total_changes(), changes()
-- ----
SELECT * FROM track NOT INDEXED WHERE track_id < 3
-- ----
-- why: page statistics without contents stay allowed
SELECT name, count(*) AS pages FROM dbstat GROUP BY name ORDER BY pages DESC
-- ----
-- why: the string functions sqlmcp replaces with linear-time versions
SELECT instr(name, 'a'), replace(name, 'a', 'b'), trim(name, 'A'), ltrim(name, 'AB'), rtrim(name, 's') FROM artist
-- ----
SELECT count(*) FROM track WHERE name LIKE 'A%' OR name GLOB '*[Ll]ove*'
