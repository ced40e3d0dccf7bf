//! The catalog of DOKU's SNAP operations: one row per operation, naming its method and path,
//! its service code and success codes, the tokens and headers it needs, whether it moves money,
//! and the rules of its body ([`body`]). `Client::call` sends by it, the sandbox plays by it,
//! `doku_operations()` publishes it, and the bindings' named methods are checked against it.
//!
//! Facts from DOKU's API reference and its SDKs (snap-reference §8). Where DOKU's pages give no
//! success code, the SNAP rule (HTTP status + service + `00`) is used, and the row says so.

pub mod body;
pub mod options;

use serde_json::{json, Value};

pub use body::{Field, Problem, Rule};
pub use options::CallOptions;

/// A per-call option the row may require or accept beyond the ones every call accepts
/// (`channelId`, `externalId`, `headers`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// `customerToken`: the customer's B2B2C token, sent as `Authorization-Customer: Bearer`.
    CustomerToken,
    /// `ipAddress`: the customer's IP address, sent as `X-IP-ADDRESS`.
    IpAddress,
    /// `deviceId`: the customer's device, sent as `X-DEVICE-ID`.
    DeviceId,
}

impl Need {
    /// The option's key in `options_json`.
    pub fn key(self) -> &'static str {
        match self {
            Need::CustomerToken => "customerToken",
            Need::IpAddress => "ipAddress",
            Need::DeviceId => "deviceId",
        }
    }

    /// The header it becomes.
    pub fn header(self) -> &'static str {
        match self {
            Need::CustomerToken => "Authorization-Customer",
            Need::IpAddress => "X-IP-ADDRESS",
            Need::DeviceId => "X-DEVICE-ID",
        }
    }
}

/// One operation.
#[derive(Debug)]
pub struct Operation {
    /// The name callers use: `create_va`.
    pub name: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    /// The two-digit SNAP service code of every answer's `responseCode`.
    pub service: &'static str,
    /// The `responseCode`s of success.
    pub success: &'static [&'static str],
    /// Options the call fails without, before anything is sent.
    pub required: &'static [Need],
    /// Options it sends when given.
    pub accepted: &'static [Need],
    /// Whether a lost answer leaves the caller not knowing if money moved: such failures after
    /// the request was sent are `ErrorKind::OutcomeUnknown`, and the call is never retried.
    pub moves_money: bool,
    /// The operation that tells what became of this one, and the body field it is asked by.
    pub status: Option<(&'static str, &'static str)>,
    /// The body's fields: the mandatory ones, and the formats of those given.
    pub fields: &'static [Field],
    /// Where the row's facts come from, for those who check them.
    pub source: &'static str,
}

use body::Rule::{Amount, Digits, Object, PartnerServiceId, Present, Text, Time, VirtualAccountNo};

const fn m(name: &'static str, rule: Rule) -> Field {
    Field { name, rule, mandatory: true }
}

const fn o(name: &'static str, rule: Rule) -> Field {
    Field { name, rule, mandatory: false }
}

/// The fields that name a virtual account, in every VA operation.
const VA_ID: [Field; 3] = [m("partnerServiceId", PartnerServiceId), m("customerNo", Digits(20)), m("virtualAccountNo", VirtualAccountNo)];

/// A virtual account as create and update send it. DOKU's SDK README also marks
/// `virtualAccountTrxType` and `additionalInfo.channel` required; its API reference does not, so
/// they are checked when given rather than refused when absent.
const VA_FIELDS: [Field; 11] = [
    VA_ID[0],
    VA_ID[1],
    VA_ID[2],
    m("virtualAccountName", Text(255)),
    m("trxId", Text(64)),
    m("totalAmount", Amount),
    o("virtualAccountEmail", Text(255)),
    o("virtualAccountPhone", Text(30)),
    o("virtualAccountTrxType", Text(1)),
    o("expiredDate", Time),
    o("additionalInfo", Object),
];

/// Every Direct Debit body names its channel (`DIRECT_DEBIT_ALLO_SNAP`, `EMONEY_OVO_SNAP`, …).
const CHANNEL: Field = m("additionalInfo.channel", Text(64));
/// Where a registration (of an account or a card) sends the customer back.
const REGISTRATION_URLS: [Field; 2] = [m("additionalInfo.successRegistrationUrl", Text(1024)), m("additionalInfo.failedRegistrationUrl", Text(1024))];

/// The catalog, in the order the documentation lists the operations.
pub const CATALOG: &[Operation] = &[
    Operation {
        name: "create_va",
        method: "POST",
        path: "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va",
        service: "27",
        success: &["2002700"],
        required: &[],
        accepted: &[],
        moves_money: false,
        status: Some(("check_status_va", "virtualAccountNo")),
        fields: &VA_FIELDS,
        source: "DOKU API reference (2002700)",
    },
    Operation {
        name: "update_va",
        method: "PUT",
        path: "/virtual-accounts/bi-snap-va/v1.1/transfer-va/update-va",
        service: "28",
        success: &["2002800"],
        required: &[],
        accepted: &[],
        moves_money: false,
        status: Some(("check_status_va", "virtualAccountNo")),
        fields: &VA_FIELDS,
        source: "DOKU API reference (PUT, 2002800)",
    },
    Operation {
        name: "delete_va",
        method: "DELETE",
        path: "/virtual-accounts/bi-snap-va/v1.1/transfer-va/delete-va",
        service: "31",
        success: &["2003100"],
        required: &[],
        accepted: &[],
        moves_money: false,
        status: Some(("check_status_va", "virtualAccountNo")),
        fields: &[VA_ID[0], VA_ID[1], VA_ID[2], o("trxId", Text(64)), o("additionalInfo", Object)],
        source: "DOKU SDKs (DELETE with a body); success code by the SNAP rule",
    },
    Operation {
        name: "check_status_va",
        method: "POST",
        path: "/orders/v1.0/transfer-va/status",
        service: "26",
        success: &["2002600"],
        required: &[],
        accepted: &[],
        moves_money: false,
        status: None,
        fields: &[VA_ID[0], VA_ID[1], VA_ID[2], o("inquiryRequestId", Text(128)), o("paymentRequestId", Text(128))],
        source: "DOKU SDKs; success code by the SNAP rule",
    },
    Operation {
        name: "account_binding",
        method: "POST",
        path: "/direct-debit/core/v1/registration-account-binding",
        service: "07",
        success: &["2000700"],
        required: &[Need::IpAddress, Need::DeviceId],
        accepted: &[],
        moves_money: false,
        status: None,
        fields: &[m("phoneNo", Text(16)), CHANNEL, m("additionalInfo.custIdMerchant", Text(64)), REGISTRATION_URLS[0], REGISTRATION_URLS[1]],
        source: "DOKU SDKs (service 07, X-IP-ADDRESS and X-DEVICE-ID)",
    },
    Operation {
        name: "account_unbinding",
        method: "POST",
        path: "/direct-debit/core/v1/registration-account-unbinding",
        service: "05",
        success: &["2000500"],
        required: &[Need::IpAddress],
        accepted: &[],
        moves_money: false,
        status: None,
        fields: &[m("tokenId", Text(2048)), CHANNEL],
        source: "DOKU SDKs (service 05, X-IP-ADDRESS)",
    },
    Operation {
        name: "card_registration",
        method: "POST",
        path: "/direct-debit/core/v1/registration-card-bind",
        service: "01",
        success: &["2000100"],
        required: &[],
        accepted: &[Need::IpAddress, Need::DeviceId],
        moves_money: false,
        status: None,
        fields: &[
            m("cardData", Text(4096)),
            m("custIdMerchant", Text(64)),
            m("phoneNo", Text(16)),
            CHANNEL,
            REGISTRATION_URLS[0],
            REGISTRATION_URLS[1],
        ],
        source: "DOKU SDKs (fields); service and success code by the SNAP rule (card registration is 01)",
    },
    Operation {
        name: "card_unbinding",
        method: "POST",
        path: "/direct-debit/core/v1/registration-card-unbind",
        service: "05",
        success: &["2000500"],
        required: &[],
        accepted: &[Need::IpAddress],
        moves_money: false,
        status: None,
        fields: &[m("tokenId", Text(2048)), CHANNEL],
        source: "DOKU Go SDK (service 05, X-IP-ADDRESS)",
    },
    Operation {
        name: "payment",
        method: "POST",
        path: "/direct-debit/core/v1/debit/payment-host-to-host",
        service: "54",
        success: &["2005400"],
        required: &[Need::CustomerToken, Need::IpAddress],
        accepted: &[Need::DeviceId],
        moves_money: true,
        status: Some(("check_status", "partnerReferenceNo")),
        fields: &[
            m("partnerReferenceNo", Text(64)),
            m("amount", Amount),
            CHANNEL,
            o("payOptionDetails", Present),
            o("additionalInfo.remarks", Text(40)),
            o("additionalInfo.lineItems", Present),
        ],
        source: "DOKU SDKs (service 54, 2005400, Authorization-Customer and X-IP-ADDRESS)",
    },
    Operation {
        name: "payment_jump_app",
        method: "POST",
        path: "/direct-debit/core/v1/debit/payment-host-to-host",
        service: "54",
        success: &["2005400"],
        required: &[Need::IpAddress, Need::DeviceId],
        accepted: &[],
        moves_money: true,
        status: Some(("check_status", "partnerReferenceNo")),
        fields: &[
            m("partnerReferenceNo", Text(64)),
            m("amount", Amount),
            m("urlParam", Present),
            CHANNEL,
            o("validUpTo", Time),
            o("pointOfInitiation", Text(16)),
        ],
        source: "DOKU SDKs (no customer token; X-DEVICE-ID and X-IP-ADDRESS)",
    },
    Operation {
        name: "refund",
        method: "POST",
        path: "/direct-debit/core/v1/debit/refund",
        service: "07",
        success: &["2000700", "2005800"],
        required: &[Need::CustomerToken, Need::IpAddress],
        accepted: &[Need::DeviceId],
        moves_money: true,
        status: Some(("check_status", "originalPartnerReferenceNo")),
        fields: &[
            m("originalPartnerReferenceNo", Text(64)),
            m("partnerRefundNo", Text(64)),
            m("refundAmount", Amount),
            CHANNEL,
            o("originalExternalId", Text(128)),
            o("reason", Text(256)),
        ],
        source: "DOKU API reference (2000700; 2005800 is the SNAP rule's), SDKs (headers)",
    },
    Operation {
        name: "balance_inquiry",
        method: "POST",
        path: "/direct-debit/core/v1/balance-inquiry",
        service: "11",
        success: &["2001100"],
        required: &[Need::CustomerToken, Need::IpAddress],
        accepted: &[],
        moves_money: false,
        status: None,
        fields: &[CHANNEL],
        source: "DOKU SDKs (service 11, Authorization-Customer and X-IP-ADDRESS); success code by the SNAP rule",
    },
    Operation {
        name: "check_status",
        method: "POST",
        path: "/orders/v1.0/debit/status",
        service: "55",
        success: &["2005500"],
        required: &[],
        accepted: &[],
        moves_money: false,
        status: None,
        fields: &[m("originalPartnerReferenceNo", Text(64)), m("serviceCode", Digits(2)), o("amount", Amount), o("originalExternalId", Text(128))],
        source: "DOKU SDKs (fields); service and success code by the SNAP rule",
    },
];

/// The row named `name`.
pub fn find(name: &str) -> Option<&'static Operation> {
    CATALOG.iter().find(|op| op.name == name)
}

/// The operation a request to `method path` is, for a server: the first row of that path
/// (`payment` and `payment_jump_app` share one, and are one operation to the server, which
/// tells them apart by `Authorization-Customer`).
pub fn for_request(method: &str, path: &str) -> Option<&'static Operation> {
    CATALOG.iter().find(|op| op.path == path && op.method == method)
}

/// Every path in the catalog, with the methods it is served by (for a 405's `Allow`).
pub fn methods_of(path: &str) -> Vec<&'static str> {
    let mut methods: Vec<&str> = CATALOG.iter().filter(|op| op.path == path).map(|op| op.method).collect();
    methods.dedup();
    methods
}

impl Operation {
    /// Whether `need` is sent when given: required or accepted.
    pub fn takes(&self, need: Need) -> bool {
        self.required.contains(&need) || self.accepted.contains(&need)
    }

    pub fn to_json(&self) -> Value {
        let keys = |needs: &[Need]| needs.iter().map(|n| n.key()).collect::<Vec<_>>();
        let fields: Vec<Value> = self.fields.iter().map(|f| json!({"name": f.name, "mandatory": f.mandatory, "rule": f.rule.describe()})).collect();
        json!({
            "name": self.name,
            "method": self.method,
            "path": self.path,
            "service": self.service,
            "success": self.success,
            "required": keys(self.required),
            "accepted": keys(self.accepted),
            "movesMoney": self.moves_money,
            "statusOperation": self.status.map(|(op, _)| op),
            "fields": fields,
        })
    }
}

/// The catalog as JSON: `[{"name","method","path","service","success","required","accepted",
/// "movesMoney","statusOperation","fields"}, …]`.
pub fn catalog_json() -> String {
    Value::Array(CATALOG.iter().map(Operation::to_json).collect()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_consistent() {
        let mut names: Vec<&str> = CATALOG.iter().map(|op| op.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOG.len(), "names are unique");
        for op in CATALOG {
            assert!(op.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{}", op.name);
            assert!(op.path.starts_with('/') && !op.path.contains(' '), "{}", op.path);
            assert_eq!(op.service.len(), 2, "{}", op.name);
            assert!(op.success.iter().all(|c| c.len() == 7 && c.starts_with("200")), "{}", op.name);
            assert!(op.success.iter().any(|c| &c[3..5] == op.service), "{}: a success code of its own service", op.name);
            assert!(op.required.iter().all(|n| !op.accepted.contains(n)), "{}", op.name);
            if let Some((status, field)) = op.status {
                assert!(find(status).is_some(), "{}: {status}", op.name);
                assert!(op.fields.iter().any(|f| f.name == field), "{}: {field}", op.name);
            }
            assert!(!op.moves_money || op.status.is_some(), "{}: a money-moving call names its status check", op.name);
            assert!(op.fields.iter().any(|f| f.mandatory), "{}", op.name);
        }
        for money in ["payment", "payment_jump_app", "refund"] {
            assert!(find(money).unwrap().moves_money, "{money}");
        }
        assert_eq!(CATALOG.iter().filter(|op| op.moves_money).count(), 3);
    }

    #[test]
    fn the_issue_s_requirements_hold() {
        let needs = |name: &str| find(name).unwrap().required;
        assert!(needs("payment").contains(&Need::CustomerToken) && needs("payment").contains(&Need::IpAddress));
        assert!(needs("account_binding").contains(&Need::IpAddress) && needs("account_binding").contains(&Need::DeviceId));
        assert!(needs("balance_inquiry").contains(&Need::CustomerToken));
        assert_eq!(for_request("POST", "/direct-debit/core/v1/debit/payment-host-to-host").unwrap().name, "payment");
        assert_eq!(methods_of("/virtual-accounts/bi-snap-va/v1.1/transfer-va/update-va"), ["PUT"]);
        assert!(for_request("POST", "/virtual-accounts/bi-snap-va/v1.1/transfer-va/update-va").is_none());
    }

    #[test]
    fn the_catalog_serializes() {
        let v: Value = serde_json::from_str(&catalog_json()).unwrap();
        let rows = v.as_array().unwrap();
        assert_eq!(rows.len(), CATALOG.len());
        let payment = rows.iter().find(|r| r["name"] == "payment").unwrap();
        assert_eq!(payment["required"], json!(["customerToken", "ipAddress"]));
        assert_eq!(payment["movesMoney"], json!(true));
        assert_eq!(payment["statusOperation"], json!("check_status"));
        assert_eq!(
            payment["fields"][1],
            json!({"name": "amount", "mandatory": true, "rule": "{\"value\":\"10000.00\",\"currency\":\"IDR\"}: value as digits with two decimals, currency IDR"})
        );
    }
}
