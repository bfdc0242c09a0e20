"""One module per dashboard page; `common` holds the filters and what every page says about its data."""
