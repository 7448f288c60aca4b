-- PostgreSQL reads. Format: ../README.md.
-- ----
TABLE genre
-- ----
SELECT $$ ; DROP TABLE track; $$
-- ----
SELECT $body$ it's ; $body$ AS x
-- ----
SELECT E'\' ; DROP TABLE track'
-- ----
SELECT '\' AS backslash
-- ----
SELECT U&'d\0061t\+000061' AS data, U&'d!0061t' UESCAPE '!' AS data2
-- ----
SELECT U&"track_id" FROM track LIMIT 1
-- ----
/* nested /* comment */ ; DROP TABLE track */ SELECT 1
-- ----
SELECT 1 AS delete, 2 AS update, 3 AS into
-- ----
SELECT "update", "into" FROM (SELECT 1 AS "update", 2 AS "into") t
-- ----
-- why: ordered-set aggregates and FILTER
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY milliseconds) AS median_ms,
       percentile_disc(ARRAY[0.25, 0.75]) WITHIN GROUP (ORDER BY milliseconds) AS quartiles,
       mode() WITHIN GROUP (ORDER BY genre_id) AS commonest_genre
FROM track
-- ----
SELECT count(*) FILTER (WHERE genre_id = 1) AS rock, count(*) FILTER (WHERE unit_price > 0.99) AS pricey FROM track
-- ----
SELECT billing_country,
       sum(total) FILTER (WHERE invoice_date < '2011-01-01') AS early,
       sum(total) FILTER (WHERE invoice_date >= '2011-01-01') AS late
FROM invoice GROUP BY billing_country ORDER BY 1
-- ----
SELECT string_agg(name, ', ' ORDER BY name) FROM genre
-- ----
SELECT array_agg(DISTINCT billing_country ORDER BY billing_country) FROM invoice
-- ----
-- why: grouping sets
SELECT billing_country, billing_city, sum(total) FROM invoice GROUP BY ROLLUP (billing_country, billing_city) ORDER BY 1, 2 LIMIT 20
-- ----
SELECT genre_id, media_type_id, count(*) FROM track GROUP BY CUBE (genre_id, media_type_id) LIMIT 20
-- ----
-- why: JSON operators
SELECT '{"a": 1}'::jsonb -> 'a', '{"a": {"b": 2}}'::jsonb #> '{a,b}', '{"a": {"b": 2}}'::jsonb #>> '{a,b}'
-- ----
SELECT j ->> 'name' AS name, j ? 'composer' AS has_composer
FROM (SELECT to_jsonb(t) AS j FROM track t LIMIT 5) s
-- ----
SELECT jsonb_build_object('id', track_id, 'name', name) @> '{"id": 1}' FROM track LIMIT 3
-- ----
SELECT jsonb_path_query_array(jsonb_agg(to_jsonb(g)), '$[*].name') FROM genre g
-- ----
SELECT json_agg(a ORDER BY a.album_id) FROM (SELECT album_id, title FROM album LIMIT 3) a
-- ----
-- why: dates, intervals, casts, arrays
SELECT date_trunc('month', invoice_date) AS month, sum(total) FROM invoice GROUP BY 1 ORDER BY 1
-- ----
SELECT extract(year FROM invoice_date)::int AS y, count(*) FROM invoice GROUP BY 1 ORDER BY 1
-- ----
SELECT invoice_date + interval '30 days' AS due FROM invoice LIMIT 3
-- ----
SELECT (milliseconds || ' ms')::text, milliseconds::numeric / 60000 AS minutes FROM track LIMIT 3
-- ----
SELECT ARRAY[1, 2, 3] @> ARRAY[2], (ARRAY['a', 'b'])[1], unnest(ARRAY[1, 2])
-- ----
SELECT substring(name FROM 1 FOR 3), position('a' IN name), name ILIKE '%rock%' FROM genre
-- ----
SELECT name FROM track WHERE name ~* '^love' ORDER BY name
-- ----
SELECT * FROM generate_series(1, 5) AS g(n) CROSS JOIN LATERAL (SELECT count(*) FROM track WHERE genre_id = g.n) c
-- ----
SELECT DISTINCT ON (genre_id) genre_id, name, milliseconds FROM track ORDER BY genre_id, milliseconds DESC
-- ----
SELECT name, milliseconds FROM track ORDER BY milliseconds DESC NULLS LAST FETCH FIRST 5 ROWS WITH TIES
-- ----
SELECT * FROM track TABLESAMPLE SYSTEM (1) REPEATABLE (42) LIMIT 5
-- ----
-- why: EXPLAIN with options other than ANALYZE
EXPLAIN (FORMAT JSON) SELECT * FROM track
-- ----
EXPLAIN (VERBOSE, COSTS OFF, FORMAT YAML) WITH x AS (SELECT 1) SELECT * FROM x
-- ----
EXPLAIN VERBOSE SELECT * FROM invoice WHERE customer_id = 5
-- ----
-- why: catalog queries
SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY relname
-- ----
SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'track' ORDER BY ordinal_position
-- ----
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'track'::regclass
-- ----
SELECT pg_size_pretty(pg_total_relation_size('track')), pg_database_size(current_database())
-- ----
SELECT current_setting('statement_timeout'), current_setting('transaction_read_only'), current_user, version()
-- ----
SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'track'
-- ----
SELECT last_value FROM attack_seq
-- ----
SELECT * FROM pg_stat_activity WHERE pid = pg_backend_pid()
-- ----
SELECT * FROM pg_locks WHERE pid = pg_backend_pid()
-- ----
SELECT table_to_xml('genre', true, false, '')
-- ----
-- why: names that only contain refused ones
SELECT 'pg_sleep(1)' AS s, 'lo_import' AS t
-- ----
SELECT make_interval(days := 1), to_char(now(), 'YYYY')
-- ----
-- why: catalog views that stay allowed: masked passwords, settings, other sessions' activity
SELECT rolname, rolpassword, rolsuper FROM pg_roles ORDER BY rolname
-- ----
SELECT usename FROM pg_user
-- ----
SELECT name, setting FROM pg_settings WHERE name IN ('statement_timeout', 'work_mem')
-- ----
SELECT count(*) FROM pg_stat_activity
-- ----
SELECT subname FROM pg_stat_subscription
-- ----
-- why: setseed is allowed: the session's seed is reset after every call
SELECT setseed(0.25), random()
-- ----
-- why: XML built from values, neither parsed nor searched with XPath
SELECT xmlelement(name b, name), xmlforest(genre_id AS c), 1 AS xml FROM genre
