"""Ping++'s official Python SDK (pingpp) against `payment mock --provider pingpp --keys-dir DIR`:
usage: pingpp_sdk.py BASE_URL KEYS_DIR."""
import os
import sys

import pingpp

APP = "app_1Gqj58ynP0mHeX1q"
pingpp.api_key = "sk_test_official_sdk"
pingpp.api_base = sys.argv[1]
# The mock checks request signatures: sign with the merchant key `payment mock --keys-dir` wrote.
pingpp.private_key_path = os.path.join(sys.argv[2], "pingpp_merchant_private.pem")

charge = pingpp.Charge.create(
    order_no="sdk0001", app=dict(id=APP), channel="alipay", amount=1234, client_ip="127.0.0.1",
    currency="cny", subject="SDK", body="Official SDK against the mock")
assert charge.id.startswith("ch_") and not charge.paid, charge
assert "alipay" in charge.credential, charge.credential

same = pingpp.Charge.retrieve(charge.id)
assert same.order_no == "sdk0001", same

listed = pingpp.Charge.list(app=dict(id=APP), limit=3)
assert any(c.id == charge.id for c in listed.data), listed
assert "count" not in listed, listed

try:
    pingpp.Charge.create(order_no="sdk0001", app=dict(id=APP), channel="alipay", amount=1, client_ip="127.0.0.1",
                         currency="cny", subject="dup", body="dup")
    raise SystemExit("expected order_no_used")
except pingpp.error.InvalidRequestError as e:
    assert "order_no" in str(e.json_body), e.json_body

unpaid = pingpp.Charge.create(order_no="sdk0002", app=dict(id=APP), channel="alipay", amount=100, client_ip="127.0.0.1",
                              currency="cny", subject="SDK", body="to reverse")
reversed_charge = pingpp.Charge.reverse(unpaid.id)
assert reversed_charge.reversed, reversed_charge

pingpp.private_key = None
pingpp.private_key_path = None
try:
    pingpp.Charge.retrieve(charge.id)
    raise SystemExit("expected a missing-signature error")
except pingpp.error.InvalidRequestError as e:
    assert "签名" in str(e), e

print("pingpp official SDK: ok")
