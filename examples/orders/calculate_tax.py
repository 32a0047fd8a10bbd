VAT = {"NL": 0.21, "FI": 0.255}


def calculate_tax(amount: float, country: str) -> float:
    """VAT for the customer's country."""
    return round(amount * VAT[country], 2)
