"""Payments reconciled with orders: Shopify's orders against Stripe's charges and refunds."""
