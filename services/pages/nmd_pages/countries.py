"""Names for the ISO 3166-1 codes most partners and stories come from; other codes are shown as they are."""

from __future__ import annotations

NAMES: dict[str, str] = {
    "GB": "United Kingdom",
    "IE": "Ireland",
    "US": "United States",
    "CA": "Canada",
    "AU": "Australia",
    "NZ": "New Zealand",
    "ZA": "South Africa",
    "NG": "Nigeria",
    "KE": "Kenya",
    "GH": "Ghana",
    "IN": "India",
    "PK": "Pakistan",
    "BD": "Bangladesh",
    "SG": "Singapore",
    "MY": "Malaysia",
    "AE": "United Arab Emirates",
    "FR": "France",
    "DE": "Germany",
    "ES": "Spain",
    "PT": "Portugal",
    "IT": "Italy",
    "NL": "Netherlands",
    "BE": "Belgium",
    "LU": "Luxembourg",
    "DK": "Denmark",
    "SE": "Sweden",
    "NO": "Norway",
    "FI": "Finland",
    "PL": "Poland",
    "CH": "Switzerland",
    "AT": "Austria",
    "GR": "Greece",
    "MT": "Malta",
    "CY": "Cyprus",
    "JM": "Jamaica",
    "TT": "Trinidad and Tobago",
    "BR": "Brazil",
    "MX": "Mexico",
    "JP": "Japan",
    "CN": "China",
    "HK": "Hong Kong",
    "PH": "Philippines",
    "unknown": "Unknown",
}


def country_name(code: str | None) -> str:
    if not code:
        return "Not given"
    return NAMES.get(code, code)
