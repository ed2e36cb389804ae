-- Learning SQL joins with a tiny library database.
--
-- A join combines rows from two tables using a column they share.
-- Run this file top to bottom in any SQL database (for example SQLite).

-- Step 1: two tables. Each loan refers to a book through book_id.
CREATE TABLE books (
    id    INTEGER PRIMARY KEY,
    title TEXT NOT NULL
);

CREATE TABLE loans (
    id       INTEGER PRIMARY KEY,
    book_id  INTEGER REFERENCES books (id),
    borrower TEXT NOT NULL
);

INSERT INTO books (id, title) VALUES (1, 'Rivers'), (2, 'Volcanoes'), (3, 'Bees');
INSERT INTO loans (id, book_id, borrower) VALUES (1, 1, 'Sam'), (2, 1, 'Lee'), (3, 3, 'Ana');

-- Step 2: INNER JOIN keeps only rows that match in BOTH tables.
-- 'Volcanoes' has no loans, so it does not appear.
SELECT b.title, l.borrower
FROM books AS b
INNER JOIN loans AS l ON l.book_id = b.id;

-- Step 3: LEFT JOIN keeps every row of the left table (books).
-- Where no loan matches, the loan columns are NULL.
SELECT b.title, l.borrower
FROM books AS b
LEFT JOIN loans AS l ON l.book_id = b.id;

-- Step 4: combine a LEFT JOIN with GROUP BY to count loans per book.
-- COUNT(l.id) counts only non-NULL values, so unborrowed books get 0.
SELECT b.title, COUNT(l.id) AS times_borrowed
FROM books AS b
LEFT JOIN loans AS l ON l.book_id = b.id
GROUP BY b.title
ORDER BY times_borrowed DESC;
