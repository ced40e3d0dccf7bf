//! What the sandbox remembers of the operations it played, per client: virtual accounts (created,
//! updated, paid through the simulator, deleted), account and card bindings with their one-use
//! auth codes, and Direct Debit payments with their refunds. In memory, bounded; each refusal is
//! the SNAP case DOKU documents, returned as (HTTP status, case code, message).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

/// Records kept over all clients and kinds; past it, new ones are refused (General Error),
/// never old ones forgotten: a forgotten payment would let a refund through twice.
const MAX_RECORDS: usize = 100_000;
/// A new binding's account holds this much (in cents): 1,000,000.00 IDR.
pub(crate) const OPENING_BALANCE: u64 = 100_000_000;
/// Refunds one payment may have: each is in its `refundHistory`, which must stay a readable answer.
const MAX_REFUNDS: usize = 100;

/// A refusal: HTTP status, SNAP case code, message.
pub(crate) type Refused = (u16, &'static str, String);

/// An amount in cents from a checked `"10000.00"`.
pub(crate) fn cents(value: &str) -> Option<u64> {
    let (int, dec) = value.split_once('.')?;
    int.parse::<u64>().ok()?.checked_mul(100)?.checked_add(dec.parse::<u64>().ok()?)
}

pub(crate) fn amount_text(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[derive(Debug)]
pub(crate) struct VirtualAccount {
    pub trx_id: String,
    pub name: String,
    pub amount: u64,
    /// `C` closed (the exact amount), anything else open.
    pub trx_type: String,
    pub expires: Option<DateTime<Utc>>,
    pub paid: Option<(u64, String)>,
}

#[derive(Debug)]
pub(crate) struct Binding {
    pub balance: u64,
    pub active: bool,
}

#[derive(Debug)]
pub(crate) struct Payment {
    pub amount: u64,
    pub reference_no: String,
    pub account: String,
    pub refunds: Vec<Refund>,
}

#[derive(Debug)]
pub(crate) struct Refund {
    pub partner_refund_no: String,
    pub refund_no: String,
    pub amount: u64,
    pub at: String,
}

impl Payment {
    pub fn refunded(&self) -> u64 {
        self.refunds.iter().map(|r| r.amount).sum()
    }
}

#[derive(Default)]
pub struct Books {
    /// (client, virtualAccountNo)
    vas: HashMap<(String, String), VirtualAccount>,
    /// (client, binding id): bindings, and the accounts of auth codes no binding issued (tests
    /// exchange any code), one per code.
    bindings: HashMap<(String, String), Binding>,
    /// auth code → (client, binding id, redeemed).
    auth_codes: HashMap<String, (String, String, bool)>,
    /// (client, trxId) → the virtualAccountNo whose bill it is.
    trx_ids: HashMap<(String, String), String>,
    /// (client, partnerReferenceNo)
    payments: HashMap<(String, String), Payment>,
    refunds: usize,
    next: u64,
}

fn key(client: &str, id: &str) -> (String, String) {
    (client.to_owned(), id.to_owned())
}

impl Books {
    fn records(&self) -> usize {
        self.vas.len() + self.bindings.len() + self.auth_codes.len() + self.payments.len() + self.refunds
    }

    fn room(&self) -> Result<(), Refused> {
        match self.records() < MAX_RECORDS {
            true => Ok(()),
            false => Err((500, "00", "General Error: the sandbox's books are full".into())),
        }
    }

    /// A number for references: `prefix` + 10 digits.
    pub fn number(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{:010}", self.next)
    }

    pub fn va(&self, client: &str, va_no: &str) -> Option<&VirtualAccount> {
        self.vas.get(&key(client, va_no))
    }

    /// A new bill. A number in use gets the new bill in place of its last one (a reusable
    /// account's next bill, or the same bill sent again); `409xx01` when the `trxId` is another
    /// account's, or its bill was paid (a paid bill's `trxId` is never free again).
    pub fn create_va(&mut self, client: &str, va_no: &str, va: VirtualAccount) -> Result<(), Refused> {
        if let Some(owner) = self.trx_ids.get(&key(client, &va.trx_id)) {
            let paid = self.vas.get(&key(client, owner)).is_some_and(|v| v.paid.is_some() && v.trx_id == va.trx_id);
            if owner != va_no || paid {
                return Err((409, "01", "Conflict. Duplicate trxId".into()));
            }
        }
        if !self.vas.contains_key(&key(client, va_no)) {
            self.room()?;
        }
        self.trx_ids.insert(key(client, &va.trx_id), va_no.to_owned());
        if let Some(old) = self.vas.insert(key(client, va_no), va).filter(|old| old.paid.is_none()) {
            // A paid bill's trxId stays taken.
            self.forget_trx_id(client, va_no, &old.trx_id);
        }
        Ok(())
    }

    /// Frees a replaced or deleted bill's `trxId`, unless the account's bill still has it.
    fn forget_trx_id(&mut self, client: &str, va_no: &str, trx_id: &str) {
        let current = self.vas.get(&key(client, va_no)).map(|v| v.trx_id.as_str());
        if current != Some(trx_id) && self.trx_ids.get(&key(client, trx_id)).map(String::as_str) == Some(va_no) {
            self.trx_ids.remove(&key(client, trx_id));
        }
    }

    /// The virtual account to change: `404xx12` unknown, `404xx14` paid, `404xx19` expired.
    pub fn open_va(&mut self, client: &str, va_no: &str, now: DateTime<Utc>) -> Result<&mut VirtualAccount, Refused> {
        let va = self.vas.get_mut(&key(client, va_no)).ok_or((404, "12", "Invalid Bill/Virtual Account [Not Found]".to_owned()))?;
        if va.paid.is_some() {
            return Err((404, "14", "Paid Bill".into()));
        }
        if va.expires.is_some_and(|e| e <= now) {
            return Err((404, "19", "Invalid Bill/Virtual Account [Expired]".into()));
        }
        Ok(va)
    }

    pub fn delete_va(&mut self, client: &str, va_no: &str, now: DateTime<Utc>) -> Result<VirtualAccount, Refused> {
        self.open_va(client, va_no, now)?;
        let deleted = self.vas.remove(&key(client, va_no)).ok_or((404, "12", "Invalid Bill/Virtual Account [Not Found]".to_owned()))?;
        self.forget_trx_id(client, va_no, &deleted.trx_id);
        Ok(deleted)
    }

    /// A changed bill (update): its `trxId` stays the account's.
    pub fn update_va(&mut self, client: &str, va_no: &str, va: VirtualAccount, now: DateTime<Utc>) -> Result<(), Refused> {
        let current = self.open_va(client, va_no, now)?;
        if current.trx_id != va.trx_id {
            return Err((404, "12", "Invalid Bill/Virtual Account [trxId does not match]".into()));
        }
        *current = va;
        Ok(())
    }

    /// The customer pays: the whole amount of a closed account (`404xx13` otherwise).
    pub fn pay_va(&mut self, client: &str, va_no: &str, paid: Option<u64>, now: DateTime<Utc>) -> Result<(u64, String), Refused> {
        let request_id = self.number("PAY");
        let va = self.open_va(client, va_no, now)?;
        let paid = paid.unwrap_or(va.amount);
        if paid == 0 || (va.trx_type == "C" && paid != va.amount) {
            return Err((404, "13", format!("Invalid Amount: this closed virtual account takes exactly {}", amount_text(va.amount))));
        }
        va.paid = Some((paid, request_id.clone()));
        Ok((paid, request_id))
    }

    /// A binding (account or card) and its auth code, to be exchanged once for a customer token.
    pub fn bind(&mut self, client: &str) -> Result<(String, String), Refused> {
        self.room()?;
        let id = self.number("BND");
        let mut random = [0u8; 16];
        let _ = openssl::rand::rand_bytes(&mut random);
        let code = format!("AC{}", doku::signature::hex(&random));
        self.bindings.insert(key(client, &id), Binding { balance: OPENING_BALANCE, active: true });
        self.auth_codes.insert(code.clone(), (client.to_owned(), id.clone(), false));
        Ok((id, code))
    }

    /// The account an auth code is for, spending the code: its binding's, or for a code no
    /// binding issued, a new account of its own.
    pub fn redeem_auth_code(&mut self, client: &str, code: &str) -> Result<String, &'static str> {
        match self.auth_codes.get_mut(code) {
            Some((owner, _, _)) if owner != client => Err("it was issued to another client"),
            Some((_, _, true)) => Err("it was already used"),
            Some((_, binding, redeemed)) => {
                *redeemed = true;
                Ok(binding.clone())
            }
            None => {
                self.room().map_err(|_| "the sandbox's books are full")?;
                let id = self.number("GRANT");
                self.bindings.insert(key(client, &id), Binding { balance: OPENING_BALANCE, active: true });
                Ok(id)
            }
        }
    }

    /// The account of a binding, if it is active.
    pub fn account(&mut self, client: &str, binding: &str) -> Result<&mut Binding, Refused> {
        match self.bindings.get_mut(&key(client, binding)) {
            Some(b) if b.active => Ok(b),
            _ => Err((403, "18", "Inactive Account: the account was unbound".into())),
        }
    }

    pub fn unbind(&mut self, client: &str, binding: &str) {
        if let Some(b) = self.bindings.get_mut(&key(client, binding)) {
            b.active = false;
        }
    }

    pub fn payment(&self, client: &str, partner_reference_no: &str) -> Option<&Payment> {
        self.payments.get(&key(client, partner_reference_no))
    }

    /// Debits `account` (`None`: a jump-app payment, approved in the customer's app) and records
    /// the payment: `409xx01` for a used `partnerReferenceNo`, `403xx14` over the balance.
    pub fn pay(&mut self, client: &str, partner_reference_no: &str, amount: u64, account: Option<&str>) -> Result<String, Refused> {
        if self.payments.contains_key(&key(client, partner_reference_no)) {
            return Err((409, "01", "Conflict. Duplicate partnerReferenceNo".into()));
        }
        if amount == 0 {
            return Err((404, "13", "Invalid Amount: nothing to pay".into()));
        }
        self.room()?;
        if let Some(binding) = account {
            let account = self.account(client, binding)?;
            if amount > account.balance {
                return Err((403, "14", "Insufficient Funds".into()));
            }
            account.balance -= amount;
        }
        let reference_no = self.number("DD");
        let payment = Payment { amount, reference_no: reference_no.clone(), account: account.unwrap_or_default().to_owned(), refunds: Vec::new() };
        self.payments.insert(key(client, partner_reference_no), payment);
        Ok(reference_no)
    }

    /// Refunds part or all of a payment, asked with the token of `account` (the payer's, for a
    /// payment from a bound account): `404xx01` unknown payment, `401xx02` another customer's
    /// token, `409xx01` a used `partnerRefundNo`, `404xx13` more than is left to refund.
    pub fn refund(
        &mut self,
        client: &str,
        original: &str,
        partner_refund_no: &str,
        amount: u64,
        account: Option<&str>,
        at: String,
    ) -> Result<(&Payment, String), Refused> {
        let refund_no = self.number("RF");
        let full = self.room().is_err();
        let payment = self.payments.get_mut(&key(client, original)).ok_or((404, "01", "Transaction Not Found".to_owned()))?;
        if !payment.account.is_empty() && account != Some(payment.account.as_str()) {
            return Err((401, "02", "Invalid Customer Token: the payment was made from another customer's account".into()));
        }
        if payment.refunds.iter().any(|r| r.partner_refund_no == partner_refund_no) {
            return Err((409, "01", "Conflict. Duplicate partnerRefundNo".into()));
        }
        if full || payment.refunds.len() >= MAX_REFUNDS {
            return Err((500, "00", format!("General Error: at most {MAX_REFUNDS} refunds per payment, within the sandbox's books")));
        }
        let left = payment.amount - payment.refunded();
        if amount == 0 || amount > left {
            return Err((404, "13", format!("Invalid Amount: {} is left to refund", amount_text(left))));
        }
        payment.refunds.push(Refund { partner_refund_no: partner_refund_no.to_owned(), refund_no: refund_no.clone(), amount, at });
        let account = payment.account.clone();
        self.refunds += 1;
        if let Some(b) = self.bindings.get_mut(&key(client, &account)) {
            b.balance += amount;
        }
        Ok((&self.payments[&key(client, original)], refund_no))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn va(trx: &str, amount: u64) -> VirtualAccount {
        VirtualAccount { trx_id: trx.into(), name: "Budi".into(), amount, trx_type: "C".into(), expires: None, paid: None }
    }

    #[test]
    fn a_virtual_account_s_life() {
        let (mut b, now) = (Books::default(), Utc::now());
        b.create_va("A", "  1", va("T0", 1000)).unwrap();
        b.create_va("A", "  1", va("T1", 1000)).unwrap(); // the number's next bill
        assert_eq!(b.va("A", "  1").unwrap().trx_id, "T1");
        assert_eq!(b.create_va("A", "  2", va("T1", 1000)).unwrap_err(), (409, "01", "Conflict. Duplicate trxId".into()));
        b.create_va("A", "  1", va("T1", 1000)).unwrap(); // sent again, unpaid: the same bill
        b.create_va("B", "  1", va("T1", 1000)).unwrap(); // another client's books
        assert_eq!(b.pay_va("A", "  1", Some(999), now).unwrap_err().1, "13");
        assert_eq!(b.pay_va("A", "  1", None, now).unwrap().0, 1000);
        assert_eq!(b.pay_va("A", "  1", None, now).unwrap_err(), (404, "14", "Paid Bill".into()));
        assert_eq!(b.delete_va("A", "  1", now).unwrap_err().1, "14");
        assert_eq!(b.create_va("A", "  1", va("T1", 1000)).unwrap_err().2, "Conflict. Duplicate trxId", "its bill was paid");
        // The number's next bill: the paid one's trxId stays taken.
        b.create_va("A", "  1", va("T4", 1000)).unwrap();
        assert_eq!(b.create_va("A", "  2", va("T1", 1000)).unwrap_err().2, "Conflict. Duplicate trxId");
        assert_eq!(b.delete_va("A", "  9", now).unwrap_err().1, "12");
        let mut expired = va("T3", 5);
        expired.expires = Some(now - chrono::TimeDelta::seconds(1));
        b.create_va("A", "  3", expired).unwrap();
        assert_eq!(b.open_va("A", "  3", now).unwrap_err().1, "19");
    }

    #[test]
    fn payments_and_refunds_balance() {
        let mut b = Books::default();
        let (binding, code) = b.bind("A").unwrap();
        assert_eq!(b.redeem_auth_code("B", &code), Err("it was issued to another client"));
        assert_eq!(b.redeem_auth_code("A", &code).as_ref(), Ok(&binding));
        assert_eq!(b.redeem_auth_code("A", &code), Err("it was already used"));
        let other = b.redeem_auth_code("A", "any").unwrap();
        assert_ne!(other, binding, "a code no binding issued gets an account of its own");
        let id = binding.as_str();
        let binding = Some(id);
        b.pay("A", "P1", 10_000, binding).unwrap();
        assert_eq!(b.pay("A", "P1", 1, binding).unwrap_err().1, "01");
        assert_eq!(b.pay("A", "P2", OPENING_BALANCE, binding).unwrap_err(), (403, "14", "Insufficient Funds".into()));
        assert_eq!(b.refund("A", "P1", "R1", 4_000, binding, "t".into()).unwrap().0.refunded(), 4_000);
        assert_eq!(b.refund("A", "P1", "R0", 1, Some(&other), "t".into()).unwrap_err().1, "02", "another customer's token");
        assert_eq!(b.refund("A", "P1", "R1", 1, binding, "t".into()).unwrap_err().1, "01");
        assert_eq!(b.refund("A", "P1", "R2", 6_001, binding, "t".into()).unwrap_err().2, "Invalid Amount: 60.00 is left to refund");
        b.refund("A", "P1", "R3", 6_000, binding, "t".into()).unwrap();
        assert_eq!(b.account("A", id).unwrap().balance, OPENING_BALANCE);
        assert_eq!(b.refund("A", "P9", "R4", 1, binding, "t".into()).unwrap_err().1, "01");
        b.unbind("A", id);
        assert_eq!(b.pay("A", "P3", 1, binding).unwrap_err().1, "18");
        // A jump-app payment: no account, refunds capped.
        b.pay("A", "J1", 1_000_000, None).unwrap();
        for n in 0..MAX_REFUNDS {
            b.refund("A", "J1", &format!("JR{n}"), 1, None, "t".into()).unwrap();
        }
        assert_eq!(b.refund("A", "J1", "JR-last", 1, None, "t".into()).unwrap_err().0, 500);
    }

    #[test]
    fn amounts() {
        assert_eq!(cents("10000.00"), Some(1_000_000));
        assert_eq!(cents("0.05"), Some(5));
        assert_eq!(amount_text(1_000_005), "10000.05");
        assert_eq!(cents("9999999999999999.99"), Some(999_999_999_999_999_999));
    }
}
