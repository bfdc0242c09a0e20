"""Business rules shipped as configuration: product categories, price bands and the promotions calendar.

The files live in `ecom_assets/sales/config/`; `BusinessRules` (`ecom_assets.sales.business_rules`) can point
at others. Loading validates them and names the file and entry at fault, so a bad edit fails the run with a clear
message instead of miscategorizing sales.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

CONFIG_DIR = Path(__file__).resolve().parent / "config"
CATEGORY_RULES_FILE = CONFIG_DIR / "product_categories.yaml"
PROMOTIONS_FILE = CONFIG_DIR / "promotions.yaml"
ALL_PRODUCTS = "all"
"""The promotion scope covering every category."""


class BusinessRulesError(ValueError):
    """A rules or calendar file that cannot be used, with the file and entry at fault."""


@dataclass(frozen=True)
class CategoryRule:
    """Descriptions containing any of `keywords` (as whole words) belong to this category and subcategory."""

    category: str
    subcategory: str
    keywords: tuple[str, ...]

    @property
    def pattern(self) -> str:
        """A Java/Python regex matching an upper-cased description with one of the keywords, plural allowed."""
        alternatives = "|".join(re.escape(keyword).replace("\\ ", " ") for keyword in self.keywords)
        return rf"(?<![A-Z0-9])({alternatives})(S|ES)?(?![A-Z0-9])"


@dataclass(frozen=True)
class PriceBand:
    """Typical unit prices from `lower` (in pounds, included) up to the next band's lower bound."""

    name: str
    lower: Decimal


@dataclass(frozen=True)
class CategoryRules:
    """The ordered keyword rules (first match wins), the fallback category and the price bands."""

    rules: tuple[CategoryRule, ...]
    other_category: str
    price_bands: tuple[PriceBand, ...]

    @property
    def categories(self) -> list[str]:
        """Every category a product can get, the fallback included, in rule order."""
        return list(dict.fromkeys([*(rule.category for rule in self.rules), self.other_category]))


@dataclass(frozen=True)
class Promotion:
    """A campaign: `discount` off products in `scope` (a category, or `all`) on order days `start`..`end`."""

    name: str
    start: date
    end: date
    discount: Decimal
    scope: str


def _load_yaml(path: Path, top_key: str) -> dict:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise BusinessRulesError(f"{path}: cannot be read as YAML: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get(top_key), list):
        raise BusinessRulesError(f"{path}: expected a mapping with a list under '{top_key}'")
    return document


def _text(entry: dict, field: str, where: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise BusinessRulesError(f"{where}: '{field}' must be non-empty text, got {value!r}")
    return value.strip()


def load_category_rules(path: Path = CATEGORY_RULES_FILE) -> CategoryRules:
    """Read and validate the category rules file."""
    document = _load_yaml(path, "rules")
    rules = []
    for number, entry in enumerate(document["rules"], start=1):
        where = f"{path}: rule {number}"
        if not isinstance(entry, dict):
            raise BusinessRulesError(f"{where}: expected a mapping, got {entry!r}")
        keywords = entry.get("keywords")
        if (
            not isinstance(keywords, list)
            or not keywords
            or not all(isinstance(k, str) and k.strip() for k in keywords)
        ):
            raise BusinessRulesError(f"{where}: 'keywords' must be a non-empty list of words")
        rules.append(
            CategoryRule(
                _text(entry, "category", where),
                _text(entry, "subcategory", where),
                tuple(keyword.strip().upper() for keyword in keywords),
            )
        )
    bands = []
    for number, entry in enumerate(document.get("price_bands") or [], start=1):
        where = f"{path}: price band {number}"
        try:
            lower = Decimal(str(entry["from"]))
        except (KeyError, TypeError, InvalidOperation) as error:
            raise BusinessRulesError(f"{where}: 'from' must be a number of pounds") from error
        bands.append(PriceBand(_text(entry, "name", where), lower))
    if not bands or bands[0].lower != 0 or any(a.lower >= b.lower for a, b in zip(bands, bands[1:], strict=False)):
        raise BusinessRulesError(f"{path}: 'price_bands' must start from 0 and rise strictly")
    other = _text(document, "other_category", str(path)) if "other_category" in document else "Other"
    return CategoryRules(tuple(rules), other, tuple(bands))


def load_promotions(categories: Sequence[str], path: Path = PROMOTIONS_FILE) -> tuple[Promotion, ...]:
    """Read and validate the promotions calendar; each scope must be `all` or one of `categories`."""
    document = _load_yaml(path, "promotions")
    promotions = []
    for number, entry in enumerate(document["promotions"], start=1):
        where = f"{path}: promotion {number}"
        if not isinstance(entry, dict):
            raise BusinessRulesError(f"{where}: expected a mapping, got {entry!r}")
        name = _text(entry, "name", where)
        where = f"{where} ({name})"
        start, end = entry.get("start"), entry.get("end")
        if not isinstance(start, date) or not isinstance(end, date) or end < start:
            raise BusinessRulesError(f"{where}: 'start' and 'end' must be dates (YYYY-MM-DD) with start <= end")
        try:
            discount = Decimal(str(entry.get("discount")))
        except InvalidOperation as error:
            raise BusinessRulesError(f"{where}: 'discount' must be a fraction between 0 and 1") from error
        if not 0 < discount < 1:
            raise BusinessRulesError(f"{where}: 'discount' must be a fraction between 0 and 1, got {discount}")
        scope = _text(entry, "scope", where)
        if scope != ALL_PRODUCTS and scope not in categories:
            raise BusinessRulesError(f"{where}: scope {scope!r} is neither 'all' nor a category of the rules")
        promotions.append(Promotion(name, start, end, discount, scope))
    names = [promotion.name for promotion in promotions]
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        raise BusinessRulesError(f"{path}: promotion names must be unique; repeated: {', '.join(duplicates)}")
    return tuple(promotions)
