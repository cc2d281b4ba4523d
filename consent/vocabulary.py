"""The words a person chooses from: purposes, categories of personal data, legal bases.

Based on the W3C Data Privacy Vocabulary (DPV 2): purposes from https://w3id.org/dpv#,
personal-data categories from https://w3id.org/dpv/pd#, legal bases from GDPR Art. 6(1)
in https://w3id.org/dpv/legal/eu/gdpr#. Labels are English, marked for translation with
N_() and translated where they are shown.
"""

from __future__ import annotations

DPV = "https://w3id.org/dpv#"
PD = "https://w3id.org/dpv/pd#"
GDPR = "https://w3id.org/dpv/legal/eu/gdpr#"
CUSTOM = "custom"


def N_(text: str) -> str:
    """Marks a string for extraction into the catalogue; it is translated when shown."""
    return text


PURPOSES: dict[str, str] = {
    DPV + "ServiceProvision": N_("Providing the service I use"),
    DPV + "Marketing": N_("Marketing"),
    DPV + "DirectMarketing": N_("Direct marketing (newsletters, offers by e-mail, post or phone)"),
    DPV + "Advertising": N_("Advertising"),
    DPV + "PersonalisedAdvertising": N_("Personalised advertising"),
    DPV + "TargetedAdvertising": N_("Targeted advertising"),
    DPV + "SocialMediaMarketing": N_("Social media marketing"),
    DPV + "ServiceUsageAnalytics": N_("Analytics of how I use the service"),
    DPV + "ServicePersonalisation": N_("Personalising the service"),
    DPV + "ProvidePersonalisedRecommendations": N_("Personalised recommendations"),
    DPV + "SellDataToThirdParties": N_("Selling my data to third parties"),
    DPV + "SellInsightsFromData": N_("Selling insights drawn from my data"),
    DPV + "ResearchAndDevelopment": N_("Research and development"),
    DPV + "ScientificResearch": N_("Scientific research"),
    DPV + "CommunicationForCustomerCare": N_("Customer care"),
    DPV + "FraudPreventionAndDetection": N_("Fraud prevention and detection"),
}

CATEGORIES: dict[str, str] = {
    PD + "Name": N_("Name"),
    PD + "EmailAddress": N_("E-mail address"),
    PD + "TelephoneNumber": N_("Telephone number"),
    PD + "Address": N_("Postal address"),
    PD + "DateOfBirth": N_("Date of birth"),
    PD + "Age": N_("Age"),
    PD + "Gender": N_("Gender"),
    PD + "OfficialID": N_("Official identifiers (ID card, passport, tax number)"),
    PD + "Location": N_("Location"),
    PD + "IPAddress": N_("IP address"),
    PD + "Financial": N_("Financial data"),
    PD + "BankAccount": N_("Bank account"),
    PD + "PurchasesAndSpendingHabit": N_("Purchases and spending habits"),
    PD + "BrowsingBehavior": N_("Browsing behaviour"),
    PD + "Interest": N_("Interests"),
    PD + "Picture": N_("Pictures"),
    PD + "Health": N_("Health"),
    PD + "Biometric": N_("Biometric data"),
}

LEGAL_BASES: dict[str, str] = {
    GDPR + "A6-1-a": N_("Consent (GDPR Art. 6(1)(a))"),
    GDPR + "A6-1-b": N_("Contract (GDPR Art. 6(1)(b))"),
    GDPR + "A6-1-c": N_("Legal obligation (GDPR Art. 6(1)(c))"),
    GDPR + "A6-1-d": N_("Vital interests (GDPR Art. 6(1)(d))"),
    GDPR + "A6-1-e": N_("Public task (GDPR Art. 6(1)(e))"),
    GDPR + "A6-1-f": N_("Legitimate interests (GDPR Art. 6(1)(f))"),
}
