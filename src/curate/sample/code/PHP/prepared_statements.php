<?php
/**
 * Why prepared statements prevent SQL injection.
 *
 * Building SQL by joining strings lets user input change the meaning of the
 * query. A prepared statement sends the SQL and the values separately, so the
 * database always treats the values as data, never as SQL code.
 */

$pdo = new PDO('sqlite::memory:');
$pdo->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
$pdo->exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)');
$pdo->exec("INSERT INTO users (name) VALUES ('alice'), ('bob')");

// Imagine this came from a form. A malicious user typed a quote and extra SQL.
$input = "nobody' OR '1'='1";

// UNSAFE: the input becomes part of the SQL text, and the OR clause matches every row.
$unsafe = $pdo->query("SELECT name FROM users WHERE name = '$input'")->fetchAll();
echo 'unsafe query returned ' . count($unsafe) . " rows\n"; // 2 rows: leaked!

// SAFE: the ? is a placeholder; the value is sent separately by execute().
$statement = $pdo->prepare('SELECT name FROM users WHERE name = ?');
$statement->execute([$input]);
echo 'prepared query returned ' . count($statement->fetchAll()) . " rows\n"; // 0 rows
