"""Where the business rules come from: the category rules file and the promotions calendar."""

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from ecom_assets.sales.rules import (
    CATEGORY_RULES_FILE,
    PROMOTIONS_FILE,
    CategoryRules,
    Promotion,
    load_category_rules,
    load_promotions,
)


class BusinessRules(ConfigurableResource):
    """The product category rules and the promotions calendar, by default the files shipped in `ecom_assets/config`.

    Point either at another file in the launchpad's resource config,
    `resources: {business_rules: {config: {promotions_path: /path/promotions.yaml}}}`. On
    Databricks the path must exist on the cluster; the shipped files travel with the code.
    """

    category_rules_path: str = Field(default=str(CATEGORY_RULES_FILE), description="YAML keyword rules.")
    promotions_path: str = Field(default=str(PROMOTIONS_FILE), description="YAML promotions calendar.")

    def category_rules(self) -> CategoryRules:
        """The validated category rules and price bands."""
        return load_category_rules(Path(self.category_rules_path))

    def promotions(self) -> tuple[Promotion, ...]:
        """The validated promotions calendar (scopes checked against the rules' categories)."""
        return load_promotions(self.category_rules().categories, Path(self.promotions_path))
