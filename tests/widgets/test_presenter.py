from __future__ import annotations

from widgets.presenter import mask_claim, mask_identifiers


def test_masks_users_and_ids_stably_but_keeps_public_ids():
    text = "user alice@contoso.com tenant 72f988bf-86f1-41af-91ab-2d7cd011db47 aud 00000002-0000-0ff1-ce00-000000000000"
    masked = mask_identifiers(text)
    assert "alice" not in masked and "72f988bf" not in masked
    assert "00000002-0000-0ff1-ce00-000000000000" in masked  # Exchange's well-known app id identifies nobody
    assert masked == mask_identifiers(text)
    assert mask_identifiers("ALICE@contoso.com") == mask_identifiers("alice@contoso.com")


def test_identifying_claims_are_masked_whole():
    assert mask_claim("name", "Alice Example").startswith("<user:")
    assert mask_claim("oid", "0b3a8f0e-55aa-4e2b-9a51-2a1e1c3d7f10").startswith("<id:")
    assert mask_claim("scp", "IMAP.AccessAsUser.All") == "IMAP.AccessAsUser.All"
    assert "418127063841" not in mask_identifiers("418127063841-abc.apps.googleusercontent.com")


def test_tenant_domains_and_authority_tenants_are_masked_in_urls():
    text = ("authority https://login.microsoftonline.com/contoso.com/v2.0 and https://127.0.0.1:36131/contoso.onmicrosoft.com, "
            "issuer https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/, https://login.microsoftonline.com/organizations")
    masked = mask_identifiers(text)
    assert "contoso" not in masked and "72f988bf" not in masked
    assert "https://login.microsoftonline.com/<tenant:" in masked
    assert "login.microsoftonline.com/organizations" in masked  # a well-known tenant alias identifies nobody


def test_learned_identifiers_are_masked_wherever_they_appear():
    from widgets.presenter import IdentifierMask

    mask = IdentifierMask()
    mask.learn("bob@fabrikam.example", "fabrikam-tenant", "")
    masked = mask("host imap.fabrikam.example, tenant FABRIKAM-tenant, user bob@fabrikam.example")
    assert "fabrikam" not in masked.lower()
    assert mask("the same text") == "the same text"
