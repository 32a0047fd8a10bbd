def calculate_discount(customer: dict, subtotal: float) -> float:
    """Apply the customer's promo code, if any."""

    def apply_promo_code(amount: float, code: str) -> float:
        rates = {"SAVE10": 0.10, "SAVE20": 0.20}
        return round(amount * (1 - rates[code]), 2)

    if customer.get("promo"):
        return apply_promo_code(subtotal, customer["promo"])
    return subtotal
