"""Plain client tables shaped like the public churn tables models are judged on.

Each is a few thousand rows of one client per row (tenure, usage, charges, a complaint
flag, categories) with gaps, and the true churn probability it was drawn from. They
differ in what makes churn predictable, so that no single model shape wins them all:

``telecom``
    Additive effects on the log-odds (tenure, charges, contract, support): a logistic
    regression is close to the truth.
``ecommerce``
    A complaint flag that multiplies churn, thresholds on tenure and on days since the
    last order, a non-monotone cashback effect and a device x city-tier interaction:
    deep trees win.
``subscription``
    Like the e-commerce table, with a quarter of the rows exact duplicates (as some
    public tables have): a cross-validation that splits copies of a row between folds
    rewards models that remember rows.
``bank``
    A U-shaped age effect, a product count where three or more products means churn,
    and inactive members churning more with age: interactions of two numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

TABLE_SHAPES = ("telecom", "ecommerce", "subscription", "bank")


def churn_table(shape: str, n_rows: int = 5000, random_state: int = 0) -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    """A client table of ``shape`` (one of :data:`TABLE_SHAPES`): features, the churn
    outcome and the true probability of churn of each row.

    Examples
    --------
    >>> X, y, truth = churn_table("bank", 1000, random_state=1)
    >>> len(X) == len(y) == len(truth) == 1000
    True
    """
    if shape not in TABLE_SHAPES:
        raise ValueError(f"shape must be one of {TABLE_SHAPES}, not {shape!r}")
    rng = np.random.default_rng(random_state)
    if shape == "subscription":
        unique = int(np.ceil(n_rows / 1.25))
        X, truth = _ecommerce(rng, unique)
        copies = rng.choice(unique, n_rows - unique)
        X = pd.concat([X, X.iloc[copies]], ignore_index=True)
        truth = np.concatenate([truth, truth[copies]])
        y = rng.random(unique) < truth[:unique]
        y = np.concatenate([y, y[copies]])  # a copied row is the same client: same outcome
        order = rng.permutation(n_rows)
        return X.iloc[order].reset_index(drop=True), pd.Series(y[order].astype(int), name="churned"), truth[order]
    X, truth = {"telecom": _telecom, "ecommerce": _ecommerce, "bank": _bank}[shape](rng, n_rows)
    return X, pd.Series((rng.random(n_rows) < truth).astype(int), name="churned"), truth


def _telecom(rng, n):
    tenure = rng.exponential(30, n)
    charges = rng.normal(70, 25, n)
    contract = rng.choice(["month-to-month", "one year", "two year"], n, p=[0.55, 0.25, 0.2])
    support = rng.choice(["yes", "no"], n)
    internet = rng.choice(["fiber", "dsl", "none"], n, p=[0.45, 0.35, 0.2])
    complained = rng.random(n) < 0.2
    logit = (-1.2 - 0.04 * tenure + 0.02 * (charges - 70) + np.select([contract == "one year", contract == "two year"], [-1.4, -2.8], 0.0)
             + 0.6 * (support == "no") + 0.5 * (internet == "fiber") - 0.6 * (internet == "none") + 1.1 * complained)
    X = pd.DataFrame({"tenure_months": tenure, "monthly_charges": charges, "contract": contract, "tech_support": support,
                      "internet": internet, "complained": complained})
    _gaps(rng, X, ["monthly_charges"], 0.05)
    X["contract"] = X["contract"].astype("category")
    return X, expit(logit)


def _ecommerce(rng, n):
    tenure = np.round(rng.exponential(10, n))
    complain = rng.random(n) < 0.28
    since_order = np.round(rng.exponential(4.5, n))
    cashback = rng.gamma(6, 30, n)
    satisfaction = rng.integers(1, 6, n)
    devices = rng.integers(1, 7, n)
    tier = rng.choice(["1", "2", "3"], n, p=[0.65, 0.05, 0.30])
    device = rng.choice(["mobile", "computer", "phone"], n, p=[0.5, 0.3, 0.2])
    payment = rng.choice(["debit card", "credit card", "e wallet", "cash on delivery", "upi"], n)
    marital = rng.choice(["single", "married", "divorced"], n, p=[0.3, 0.55, 0.15])
    logit = (-3.2 + 2.4 * complain + np.where(tenure <= 1, 2.6, np.where(tenure <= 4, 0.8, -0.6))
             - 0.9 * (since_order >= 3) + 0.8 * (np.abs(cashback - 150) > 90) + 0.25 * (satisfaction - 3)
             + 0.35 * (devices - 3) + 1.2 * ((tier == "3") & (device == "computer")) + 0.6 * (marital == "single")
             + 0.5 * (payment == "cash on delivery"))
    X = pd.DataFrame({"tenure": tenure, "complain": complain.astype(int), "days_since_last_order": since_order, "cashback_amount": cashback,
                      "satisfaction_score": satisfaction, "devices_registered": devices, "city_tier": tier, "login_device": device,
                      "payment_mode": payment, "marital_status": marital})
    _gaps(rng, X, ["tenure", "days_since_last_order", "cashback_amount"], 0.05)
    return X, expit(logit)


def _bank(rng, n):
    age = np.clip(rng.normal(39, 10, n), 18, 90)
    products = rng.choice([1, 2, 3, 4], n, p=[0.5, 0.45, 0.04, 0.01])
    active = rng.random(n) < 0.5
    balance = np.where(rng.random(n) < 0.35, 0.0, rng.normal(120_000, 30_000, n))
    geography = rng.choice(["France", "Germany", "Spain"], n, p=[0.5, 0.25, 0.25])
    score = np.clip(rng.normal(650, 95, n), 350, 850)
    logit = (-2.2 + 0.0035 * (age - 40) ** 2 * np.sign(age - 40) + 0.06 * np.maximum(age - 40, 0)
             + np.select([products == 2, products >= 3], [-1.3, 2.8], 0.0) - 0.9 * active + 0.05 * (age - 40) * ~active
             + 0.8 * (geography == "Germany") + 0.3 * (balance > 0) - 0.002 * (score - 650))
    X = pd.DataFrame({"age": np.round(age), "products": products, "active_member": active, "balance": balance,
                      "geography": geography, "credit_score": np.round(score)})
    _gaps(rng, X, ["balance", "credit_score"], 0.03)
    return X, expit(logit)


def _gaps(rng, X: pd.DataFrame, columns, share: float) -> None:
    """Blank ``share`` of each of ``columns`` at random, as real exports have."""
    for column in columns:
        X[column] = X[column].astype(float)
        X.loc[rng.random(len(X)) < share, column] = np.nan
