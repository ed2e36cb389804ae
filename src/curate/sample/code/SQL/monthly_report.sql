SELECT DATE_TRUNC('month', o.created_at) AS month,
       c.country,
       COUNT(*) AS orders,
       SUM(o.total) AS revenue
FROM orders o
JOIN customers c ON c.id = o.customer_id
WHERE o.status = 'paid'
GROUP BY 1, 2
ORDER BY 1, revenue DESC;
