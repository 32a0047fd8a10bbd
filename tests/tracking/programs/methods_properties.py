"""Instance methods, @staticmethod, @classmethod, @property with setter and deleter."""


class Account:
    rate = 0.1

    def __init__(self, owner, balance=0):
        self.owner = owner
        self._balance = balance

    @property
    def balance(self):
        """The balance."""
        return self._balance

    @balance.setter
    def balance(self, value):
        if value < 0:
            raise ValueError("negative balance")
        self._balance = value

    @balance.deleter
    def balance(self):
        self._balance = 0

    def deposit(self, amount):
        self.balance = self.balance + amount
        return self.balance

    @staticmethod
    def validate(amount):
        return amount > 0

    @classmethod
    def open(cls, owner):
        return cls(owner, 100)

    def interest(self):
        return self.balance * self.rate


def main():
    a = Account.open("ann")
    ok = Account.validate(5)
    total = a.deposit(50)
    try:
        a.balance = -1
    except ValueError as exc:
        error = str(exc)
    del a.balance
    a.balance = 10
    kinds = [type(Account.__dict__[n]).__name__ for n in ("validate", "open", "balance")]
    return (ok, total, error, a.interest(), kinds, Account.balance.__doc__,
            Account.balance.fset.__name__, a.validate(-1), a.open("x").owner)


EXPECTED_TREE = """
main
  Account.open
    Account.__init__
  Account.validate
  Account.deposit
    Account.balance
    Account.balance
    Account.balance
  Account.balance [failed]
  Account.balance
  Account.balance
  Account.interest
    Account.balance
  Account.validate
  Account.open
    Account.__init__
"""
