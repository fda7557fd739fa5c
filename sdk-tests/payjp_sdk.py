"""PAY.JP's official Python SDK (payjp) against `payment mock --provider payjp`: usage: payjp_sdk.py BASE_URL."""
import sys

import payjp

payjp.api_key = "sk_test_official_sdk"
payjp.api_base = sys.argv[1]

card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123"}
token = payjp.Token.create(card=card, headers={"X-Payjp-Direct-Token-Generate": "true"})
assert token.id.startswith("tok_"), token

# Python sends booleans as "False": the mock must read them case-insensitively.
charge = payjp.Charge.create(amount=3500, currency="jpy", card=token.id, capture=False, metadata={"order": "sdk-1"})
assert charge.paid and not charge.captured, charge
charge = charge.capture(amount=3000)
assert charge.captured and charge.amount_refunded == 500, charge
charge = charge.refund(amount=1000, refund_reason="sdk")
assert charge.amount_refunded == 1500, charge

again = payjp.Charge.retrieve(charge.id)
assert again.metadata["order"] == "sdk-1", again

token2 = payjp.Token.create(card=card, headers={"X-Payjp-Direct-Token-Generate": "true"})
first = payjp.Charge.create(amount=1000, currency="jpy", card=token2.id, headers={"Idempotency-Key": "sdk-key-1"})
replay = payjp.Charge.create(amount=1000, currency="jpy", card=token2.id, headers={"Idempotency-Key": "sdk-key-1"})
assert first.id == replay.id, (first.id, replay.id)

page = payjp.Charge.all(limit=1)
assert page.count == 1 and page.has_more, page

try:
    payjp.Charge.retrieve("ch_doesnotexist")
    raise SystemExit("expected a 404")
except payjp.error.InvalidRequestError as e:
    assert e.http_status == 404, e

try:
    bad = payjp.Token.create(card=card, headers={"X-Payjp-Direct-Token-Generate": "true"})
    payjp.Charge.create(amount=1000, currency="jpy", card=bad.id, api_key="sk_live_not_accepted")
    raise SystemExit("expected a 401")
except payjp.error.AuthenticationError:
    pass

print("payjp official SDK: ok")
