//! Channels the mock knows: what `extra` each needs and the credential it hands back.

use serde_json::{Value, json};

/// Channels accepted by the mock.
pub const CHANNELS: &[&str] = &[
    "alipay",
    "alipay_wap",
    "alipay_pc_direct",
    "alipay_qr",
    "wx",
    "wx_pub",
    "wx_pub_qr",
    "wx_lite",
    "wx_wap",
    "upacp",
    "upacp_wap",
    "applepay_upacp",
    "cb_alipay",
    "cb_wx",
    "isv_qr",
    "isv_scan",
    "isv_wap",
    "balance",
    "qpay",
    "cmb_wallet",
    "jdpay_wap",
    "yeepay_wap",
];

/// What the mock does with its channels, for `payment providers --test-data`.
pub fn test_data() -> Vec<payment_mock_kit::TestInput> {
    use payment_mock_kit::TestInput;
    let mut out = vec![TestInput::new(
        format!("channel {}", CHANNELS.join(", ")),
        "a pending charge with the channel's credential; the payer pays with `payment mock-control complete ID`",
    )];
    out.extend(CHANNELS.iter().filter_map(|c| required_extra(c).map(|e| (c, e))).map(|(c, e)| {
        TestInput::new(format!("channel {c}"), format!("needs extra.{e} (refused without it)"))
    }));
    out
}

/// The `extra` key a channel requires, if any.
pub fn required_extra(channel: &str) -> Option<&'static str> {
    match channel {
        "alipay_wap" | "alipay_pc_direct" | "upacp_wap" | "jdpay_wap" => Some("success_url"),
        "wx_pub" | "wx_lite" => Some("open_id"),
        "wx_pub_qr" => Some("product_id"),
        _ => None,
    }
}

/// The credential object a client app would use to pay.
pub fn credential(channel: &str, charge_id: &str, order_no: &str, amount: i64) -> Value {
    let inner = match channel {
        "alipay" => {
            json!({"orderInfo": format!("service=\"mobile.securitypay.pay\"&out_trade_no=\"{order_no}\"&total_fee=\"{}.{:02}\"", amount / 100, amount % 100)})
        }
        "wx" | "wx_pub" | "wx_lite" => {
            json!({"appId": "wx_mock_app", "nonceStr": charge_id, "package": format!("prepay_id=mock_{order_no}"), "signType": "MD5", "timeStamp": "0"})
        }
        "wx_pub_qr" | "alipay_qr" | "isv_qr" => json!(format!("weixin://wxpay/mock?pr={charge_id}")),
        _ => json!({"charge": charge_id, "mock": true}),
    };
    json!({"object": "credential", channel: inner})
}
