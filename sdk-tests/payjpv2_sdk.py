"""PAY.JP's official v2 SDK (payjpv2, pinned in .ci/run) against `payment mock --provider payjp-v2`.

Usage: payjpv2_sdk.py BASE_URL. Runs a whole flow with the unchanged SDK: a card registered in
test mode, a customer, a manual-capture flow confirmed at once that asks for 3-D Secure on the
card's first use, the customer's answer (the mock's control endpoint stands in for the browser),
a partial capture, two partial refunds and an over-refund refused, lists walked by cursor,
idempotent replay and conflict, PayPay's payer, errors (400, 402, 404, 401, 422), and events.
"""
import json
import sys
import urllib.error
import urllib.request

import payjpv2
from payjpv2 import (
    ApiClient,
    Configuration,
    CustomerCreateRequest,
    CustomersApi,
    EventsApi,
    MetadataValue,
    PaymentFlowCaptureRequest,
    PaymentFlowCreateRequest,
    PaymentFlowPaymentMethodOptionsCardRequest,
    PaymentFlowPaymentMethodOptionsRequest,
    PaymentFlowsApi,
    PaymentMethodCreateRequest,
    PaymentMethodsApi,
    PaymentRefundCreateRequest,
    PaymentRefundsApi,
)
from payjpv2.exceptions import ApiException, BadRequestException, ConflictException, NotFoundException
from payjpv2.exceptions import UnauthorizedException, UnprocessableEntityException
from payjpv2.models.payment_method_card_billing_details_request import PaymentMethodCardBillingDetailsRequest
from payjpv2.models.payment_method_card_create_request import PaymentMethodCardCreateRequest
from payjpv2.models.payment_method_create_card_details_request import PaymentMethodCreateCardDetailsRequest
from payjpv2.models.payment_method_pay_pay_create_request import PaymentMethodPayPayCreateRequest

assert payjpv2.__version__ == "1.3.0", payjpv2.__version__
base = sys.argv[1]


def client(**auth):
    return ApiClient(Configuration(host=base, **auth))


bearer = client(access_token="sk_test_official_v2_sdk")
# PAY.JP's own sample sends Basic: the key as user name, no password.
basic = client(username="sk_test_official_v2_sdk", password="")
flows, methods, customers = PaymentFlowsApi(bearer), PaymentMethodsApi(bearer), CustomersApi(bearer)
refunds, events = PaymentRefundsApi(bearer), EventsApi(bearer)


def control(path, body=None):
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(f"{base}/__mock__/{path}", data=data, method="POST")
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read() or b"null")


def card(number):
    details = PaymentMethodCreateCardDetailsRequest(number=number, exp_month=12, exp_year=2035, cvc="123")
    billing = PaymentMethodCardBillingDetailsRequest(email="buyer@example.com")
    request = PaymentMethodCardCreateRequest(type="card", card=details, billing_details=billing)
    return methods.create_payment_method(PaymentMethodCreateRequest(request))


def body_code(e):
    return json.loads(e.body)["code"]


# A card registered in test mode, and its customer (the card becomes the default).
pm = card("4000000000003220").actual_instance
assert pm.id.startswith("pm_") and pm.card.last4 == "3220" and pm.billing_details.address is not None, pm
customer = customers.create_customer(CustomerCreateRequest(payment_method_id=pm.id, email="buyer@example.com"))
assert customer.default_payment_method_id == pm.id, customer

# The card's first payment asks for 3-D Secure.
options = PaymentFlowPaymentMethodOptionsRequest(card=PaymentFlowPaymentMethodOptionsCardRequest(request_three_d_secure="automatic"))
flow = flows.create_payment_flow(
    PaymentFlowCreateRequest(
        amount=1000, currency="jpy", customer_id=customer.id, payment_method_id=pm.id, capture_method="manual",
        confirm=True, return_url="https://shop.example/done", payment_method_options=options,
        metadata={"order": MetadataValue("sdk-v2-1"), "n": MetadataValue(3)},
    ),
    idempotency_key="sdk-v2-create-1",
)
assert flow.status == "requires_action" and flow.next_action, flow
assert flow.redirect_options.include_client_secret and flow.client_secret, flow
assert flow.metadata["order"].actual_instance == "sdk-v2-1", flow.metadata

# The customer authenticates; PAY.JP moves the flow on by itself.
control(f"charges/{flow.id}/authenticate", {"result": "success"})
flow = flows.get_payment_flow(flow.id)
assert flow.status == "requires_capture" and flow.amount_capturable == 1000, flow

# Capture 800 of 1000, then refund 300 and 200; 301 more is refused.
flow = flows.capture_payment_flow(flow.id, PaymentFlowCaptureRequest(amount_to_capture=800))
assert flow.status == "succeeded" and flow.amount_received == 800, flow
first = refunds.create_payment_refund(PaymentRefundCreateRequest(payment_flow_id=flow.id, amount=300, reason="requested_by_customer"))
second = refunds.create_payment_refund(PaymentRefundCreateRequest(payment_flow_id=flow.id, amount=200))
assert first.status == "succeeded" and first.amount == 300 and second.amount == 200, (first, second)
try:
    refunds.create_payment_refund(PaymentRefundCreateRequest(payment_flow_id=flow.id, amount=301))
    raise SystemExit("expected an over-refund to be refused")
except BadRequestException as e:
    assert e.status == 400 and e.data.title, e
listed = flows.get_payment_flow_refunds(flow.id, limit=1)
assert len(listed.data) == 1 and listed.has_more and listed.url, listed
rest = flows.get_payment_flow_refunds(flow.id, limit=1, starting_after=listed.data[0].id)
assert {listed.data[0].id, rest.data[0].id} == {first.id, second.id} and not rest.has_more, rest
assert refunds.get_payment_refund(first.id).payment_flow_id == flow.id

# The card is authenticated now: its next payment asks nothing.
again = flows.create_payment_flow(PaymentFlowCreateRequest(amount=500, currency="jpy", customer_id=customer.id, confirm=True))
assert again.status == "succeeded" and again.amount_received == 500 and again.next_action is None, again

# Idempotent replay: the same key and body give the same flow; another body is a conflict.
replay = flows.create_payment_flow(
    PaymentFlowCreateRequest(
        amount=1000, currency="jpy", customer_id=customer.id, payment_method_id=pm.id, capture_method="manual",
        confirm=True, return_url="https://shop.example/done", payment_method_options=options,
        metadata={"order": MetadataValue("sdk-v2-1"), "n": MetadataValue(3)},
    ),
    idempotency_key="sdk-v2-create-1",
)
assert replay.id == flow.id, (replay.id, flow.id)
try:
    flows.create_payment_flow(PaymentFlowCreateRequest(amount=999, currency="jpy", customer_id=customer.id), idempotency_key="sdk-v2-create-1")
    raise SystemExit("expected an idempotency conflict")
except ConflictException as e:
    assert e.status == 409 and body_code(e) == "idempotency_conflict", e.body

# Lists walk by cursor, newest first, through Basic auth too.
page = PaymentFlowsApi(basic).get_all_payment_flows(limit=1)
assert page.has_more and page.url == "/v2/payment_flows" and page.data[0].id == again.id, page
older = PaymentFlowsApi(basic).get_all_payment_flows(limit=1, starting_after=page.data[0].id)
assert older.data[0].id == flow.id, older

# A PayPay payer: requires_action, approves in PayPay, processing, then PayPay confirms.
paypay = methods.create_payment_method(PaymentMethodCreateRequest(PaymentMethodPayPayCreateRequest(type="paypay"))).actual_instance
payer = customers.create_customer(CustomerCreateRequest(payment_method_id=paypay.id))
pay = flows.create_payment_flow(PaymentFlowCreateRequest(amount=700, currency="jpy", customer_id=payer.id, confirm=True, return_url="https://shop.example/paid"))
assert pay.status == "requires_action" and pay.payment_method_types == ["paypay"], pay
approve = urllib.request.Request(pay.next_action["redirect_to_url"]["url"] + "/result", data=b"result=approve", method="POST")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


try:
    urllib.request.build_opener(NoRedirect).open(approve)
except urllib.error.HTTPError as e:
    assert e.code == 303 and e.headers["Location"].startswith("https://shop.example/paid"), e
assert flows.get_payment_flow(pay.id).status == "processing"
control(f"charges/{pay.id}/complete")
assert flows.get_payment_flow(pay.id).status == "succeeded"
pending = refunds.create_payment_refund(PaymentRefundCreateRequest(payment_flow_id=pay.id))
assert pending.status == "pending" and pending.amount == 700, pending
control("clock/advance", {"seconds": 61})
assert refunds.get_payment_refund(pending.id).status == "succeeded"

# Errors: an invalid status (400), a decline (402), not found (404), a bad key (401), validation (422).
try:
    flows.capture_payment_flow(flow.id)
    raise SystemExit("expected invalid_status")
except BadRequestException as e:
    assert body_code(e) == "invalid_status" and "succeeded" in e.data.detail, e.body
declined = card("4000000000000002").actual_instance
loser = customers.create_customer(CustomerCreateRequest(payment_method_id=declined.id, email="x@example.com"))
try:
    flows.create_payment_flow(PaymentFlowCreateRequest(amount=1000, currency="jpy", customer_id=loser.id, confirm=True))
    raise SystemExit("expected a decline")
except ApiException as e:
    assert e.status == 402 and body_code(e) == "card_declined", e.body
failed = flows.get_all_payment_flows(customer_id=loser.id).data[0]
assert failed.status == "requires_payment_method" and failed.last_payment_error["code"] == "card_declined", failed
try:
    flows.get_payment_flow("pfw_doesnotexist")
    raise SystemExit("expected a 404")
except NotFoundException as e:
    assert e.data.status == 404, e
try:
    PaymentFlowsApi(client(access_token="sk_live_not_accepted")).get_all_payment_flows()
    raise SystemExit("expected a 401")
except UnauthorizedException:
    pass
try:
    flows.create_payment_flow(PaymentFlowCreateRequest(amount=1000, currency="usd"))
    raise SystemExit("expected a 422")
except UnprocessableEntityException as e:
    assert e.data.errors == [{"field": "currency", "message": "Input should be 'jpy'"}], e.body

# Events: data is the object itself.
succeeded = events.get_all_events(type="payment_flow.succeeded", resource_id=again.id)
assert succeeded.data and succeeded.data[0].data["id"] == again.id, succeeded
print("payjp v2 official SDK: ok")
