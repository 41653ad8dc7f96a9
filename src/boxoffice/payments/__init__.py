"""Payments: paying for a hold from the balance, and refunds."""
