package com.example.shop.service;

import java.util.ArrayList;
import java.util.List;

public class OrderService {
    private final List<Order> orders = new ArrayList<>();

    public Order create(String customer, double amount) {
        Order order = new Order(orders.size() + 1, customer, amount);
        orders.add(order);
        return order;
    }

    public double totalFor(String customer) {
        return orders.stream()
                .filter(o -> o.customer().equals(customer))
                .mapToDouble(Order::amount)
                .sum();
    }

    public record Order(int id, String customer, double amount) {
    }
}
