-- Legitimate reads every backend must run. Format: ../README.md.
-- ----
SELECT 1
-- ----
select name from genre order by genre_id
-- ----
  SELECT 1 ;  
-- ----
SELECT 1;;
-- ----
-- leading comment
SELECT count(*) FROM track
-- ----
/* block comment */ SELECT count(*) FROM album
-- ----
SELECT 1 AS x -- DROP TABLE track
-- ----
SELECT 1 /* ; DELETE FROM track */
-- ----
-- why: keywords and separators inside strings are data
SELECT 'DROP TABLE track; DELETE FROM album; INSERT INTO x; FOR UPDATE' AS s
-- ----
SELECT 'it''s' AS quote
-- ----
-- why: column names that contain keywords
SELECT updated FROM (SELECT 1 AS updated) u
-- ----
SELECT deleted_at, into_x, for_update FROM (SELECT 1 AS deleted_at, 2 AS into_x, 3 AS for_update) t
-- ----
-- why: joins
SELECT a.title, ar.name
FROM album a
JOIN artist ar ON ar.artist_id = a.artist_id
WHERE ar.name LIKE 'A%'
ORDER BY a.title
-- ----
SELECT t.name AS track, a.title AS album, ar.name AS artist, g.name AS genre, m.name AS media
FROM track t
JOIN album a ON a.album_id = t.album_id
JOIN artist ar ON ar.artist_id = a.artist_id
JOIN genre g ON g.genre_id = t.genre_id
JOIN media_type m ON m.media_type_id = t.media_type_id
ORDER BY t.track_id
LIMIT 20
-- ----
SELECT ar.name, count(a.album_id) AS albums
FROM artist ar LEFT JOIN album a ON a.artist_id = ar.artist_id
GROUP BY ar.name
HAVING count(a.album_id) = 0
ORDER BY ar.name
-- ----
-- why: self-join on the employee hierarchy
SELECT e.first_name, e.last_name, m.first_name AS manager_first, m.last_name AS manager_last
FROM employee e LEFT JOIN employee m ON m.employee_id = e.reports_to
ORDER BY e.employee_id
-- ----
SELECT c.country, count(*) AS customers
FROM customer c
GROUP BY c.country
HAVING count(*) > 2
ORDER BY customers DESC, c.country
-- ----
-- why: revenue by country from invoices
SELECT billing_country, count(*) AS invoices, sum(total) AS revenue, avg(total) AS average
FROM invoice
GROUP BY billing_country
ORDER BY revenue DESC
-- ----
SELECT i.billing_country, sum(il.unit_price * il.quantity) AS revenue
FROM invoice i JOIN invoice_line il ON il.invoice_id = i.invoice_id
GROUP BY i.billing_country
ORDER BY revenue DESC
LIMIT 5
-- ----
-- why: top genres by tracks sold
SELECT g.name, sum(il.quantity) AS sold
FROM invoice_line il
JOIN track t ON t.track_id = il.track_id
JOIN genre g ON g.genre_id = t.genre_id
GROUP BY g.name
ORDER BY sold DESC, g.name
-- ----
-- why: CTEs
WITH g AS (SELECT genre_id, count(*) AS n FROM track GROUP BY genre_id)
SELECT * FROM g ORDER BY n DESC
-- ----
WITH sales AS (
  SELECT customer_id, sum(total) AS spent FROM invoice GROUP BY customer_id
), ranked AS (
  SELECT customer_id, spent, rank() OVER (ORDER BY spent DESC) AS r FROM sales
)
SELECT c.first_name, c.last_name, r.spent, r.r
FROM ranked r JOIN customer c ON c.customer_id = r.customer_id
WHERE r.r <= 5
ORDER BY r.r, c.last_name
-- ----
WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 10) SELECT sum(n) FROM c
-- ----
-- why: the reporting chain, recursively
WITH RECURSIVE chain (employee_id, last_name, depth) AS (
  SELECT employee_id, last_name, 0 FROM employee WHERE reports_to IS NULL
  UNION ALL
  SELECT e.employee_id, e.last_name, chain.depth + 1
  FROM employee e JOIN chain ON e.reports_to = chain.employee_id
)
SELECT * FROM chain ORDER BY depth, employee_id
-- ----
-- why: window functions
SELECT track_id, album_id, row_number() OVER (PARTITION BY album_id ORDER BY milliseconds DESC) AS r FROM track
-- ----
SELECT invoice_id, customer_id, total,
       sum(total) OVER (PARTITION BY customer_id ORDER BY invoice_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
FROM invoice
ORDER BY customer_id, invoice_id
-- ----
SELECT invoice_id, total,
       lag(total) OVER (ORDER BY invoice_id) AS previous,
       lead(total) OVER (ORDER BY invoice_id) AS next
FROM invoice
-- ----
SELECT name, milliseconds, ntile(4) OVER (ORDER BY milliseconds) AS quartile,
       dense_rank() OVER (ORDER BY milliseconds DESC) AS dr,
       first_value(name) OVER (PARTITION BY genre_id ORDER BY milliseconds) AS shortest_in_genre
FROM track
-- ----
SELECT genre_id, avg(milliseconds) OVER (PARTITION BY genre_id) AS avg_ms FROM track
-- ----
-- why: set operations and subqueries
SELECT genre_id FROM track UNION SELECT genre_id FROM genre
-- ----
SELECT genre_id FROM genre EXCEPT SELECT genre_id FROM track
-- ----
SELECT artist_id FROM artist INTERSECT SELECT artist_id FROM album
-- ----
SELECT * FROM (SELECT customer_id, sum(total) AS t FROM invoice GROUP BY customer_id) x WHERE t > 40
-- ----
SELECT EXISTS (SELECT 1 FROM track WHERE genre_id = 1)
-- ----
SELECT name FROM track WHERE track_id IN (SELECT track_id FROM playlist_track WHERE playlist_id = 1) ORDER BY name LIMIT 10
-- ----
SELECT c.customer_id, (SELECT max(i.total) FROM invoice i WHERE i.customer_id = c.customer_id) AS biggest FROM customer c
-- ----
SELECT name FROM playlist p WHERE NOT EXISTS (SELECT 1 FROM playlist_track pt WHERE pt.playlist_id = p.playlist_id)
-- ----
-- why: expressions
SELECT CASE WHEN milliseconds > 300000 THEN 'long' ELSE 'short' END AS length, count(*) FROM track GROUP BY CASE WHEN milliseconds > 300000 THEN 'long' ELSE 'short' END
-- ----
SELECT coalesce(composer, 'unknown') AS composer, count(*) FROM track GROUP BY coalesce(composer, 'unknown') ORDER BY 2 DESC LIMIT 10
-- ----
SELECT upper(name), lower(name), length(name), substr(name, 1, 3), replace(name, 'a', 'A') FROM genre
-- ----
SELECT count(DISTINCT billing_city) FROM invoice
-- ----
SELECT min(invoice_date), max(invoice_date) FROM invoice
-- ----
SELECT count(*) FROM invoice WHERE invoice_date >= '2010-01-01' AND invoice_date < '2011-01-01'
-- ----
SELECT round(avg(unit_price), 2), min(unit_price), max(unit_price) FROM track
-- ----
SELECT nullif(composer, '') FROM track WHERE composer IS NOT NULL LIMIT 5
-- ----
SELECT email FROM customer WHERE email LIKE '%@gmail.com' ORDER BY email
-- ----
SELECT n, label FROM big WHERE n BETWEEN 100 AND 110 ORDER BY n
-- ----
SELECT count(*) FROM big
-- ----
-- why: VALUES, EXPLAIN
VALUES (1, 'a'), (2, 'b')
-- ----
EXPLAIN SELECT * FROM track WHERE genre_id = 1
-- ----
EXPLAIN SELECT g.name, count(*) FROM track t JOIN genre g ON g.genre_id = t.genre_id GROUP BY g.name
-- ----
-- why: the corpus's own objects are readable
SELECT * FROM attack_target ORDER BY id
-- ----
-- why: a function name that starts like a refused one but is not one
SELECT count(*) AS lo_count, max(name) AS setval_name FROM genre
