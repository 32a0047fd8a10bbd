CUSTOMERS = {
    42: {"id": 42, "name": "Ada", "tier": "gold", "country": "NL", "promo": "SAVE10"},
    7: {"id": 7, "name": "Linus", "tier": "silver", "country": "FI", "promo": None},
    # Customer 3 signed up on the web shop, which wrote to another table until now.
    3: {"id": 3, "name": "Grace", "tier": "silver", "country": "FI", "promo": None},
}


def get_customer(customer_id: int) -> dict:
    """Look a customer up (an in-memory table keeps the example deterministic)."""
    if customer_id not in CUSTOMERS:
        raise KeyError(f"no customer with id {customer_id}")
    return dict(CUSTOMERS[customer_id])
