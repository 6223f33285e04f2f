"""Subscriptions that leave Lago's active list (docs/product.md §8), in one place."""
