ALTER TABLE customers ADD COLUMN phone VARCHAR(32);
ALTER TABLE customers ADD COLUMN updated_at TIMESTAMP;
CREATE INDEX idx_customers_email ON customers (email);
