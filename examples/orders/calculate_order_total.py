"""The order-total example: calls other deployed functions by bare name, no imports."""


def calculate_order_total(customer_id: int, items: list[float] | None = None) -> dict:
    """Total of an order for a customer, with discount and tax."""
    items = items if items is not None else [19.99, 5.01, 75.0]
    customer = get_customer(customer_id)  # noqa: F821 - another deployed function
    subtotal = round(sum(items), 2)
    discounted = calculate_discount(customer, subtotal)  # noqa: F821
    tax = calculate_tax(discounted, customer["country"])  # noqa: F821
    total = round(discounted + tax, 2)
    print(f"order total for {customer['name']}: {total}")
    return {"customer": customer["name"], "subtotal": subtotal, "tax": tax, "total": total}
