package com.example.shop.config;

public final class AppConfig {
    public static final String APP_NAME = "shop";
    public static final int MAX_CART_ITEMS = 100;
    public static final int SESSION_TIMEOUT_MINUTES = 30;
    public static final String CURRENCY = "EUR";

    private AppConfig() {
    }
}
