//! The typed values of the case API: what comes in (an application, a decision, an inquiry) and
//! what goes out (a case, its summary, its view for a caseworker).

use std::fmt;

use bytes::Bytes;
use kernel::{Fnr, Language, OrgNr, Timestamp};
use time::Date;

/// Whose affairs a case is about, or who wrote in.
#[derive(Clone, PartialEq, Eq)]
pub enum Party {
    /// A person, by fødselsnummer or d-nummer.
    Person {
        /// The number.
        fnr: Fnr,
        /// The name.
        name: String,
    },
    /// An organisation, by organisasjonsnummer.
    Organisation {
        /// The number.
        orgnr: OrgNr,
        /// The name.
        name: String,
    },
}

/// Names and numbers are personal data: `Debug` shows only the kind.
impl fmt::Debug for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Party::Person { .. } => f.write_str("Person(..)"),
            Party::Organisation { .. } => f.write_str("Organisation(..)"),
        }
    }
}

impl Party {
    /// `person` or `organisasjon`, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Party::Person { .. } => "person",
            Party::Organisation { .. } => "organisasjon",
        }
    }

    /// The number, as digits.
    pub fn identifier(&self) -> String {
        match self {
            Party::Person { fnr, .. } => fnr.as_digits(),
            Party::Organisation { orgnr, .. } => orgnr.as_digits(),
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        match self {
            Party::Person { name, .. } | Party::Organisation { name, .. } => name,
        }
    }

    /// The person's number, if a person.
    pub fn fnr(&self) -> Option<&Fnr> {
        match self {
            Party::Person { fnr, .. } => Some(fnr),
            Party::Organisation { .. } => None,
        }
    }

    /// As the policy names a party.
    pub fn as_policy(&self) -> identity::policy::Party<'_> {
        match self {
            Party::Person { fnr, .. } => identity::policy::Party::Person(fnr),
            Party::Organisation { orgnr, .. } => identity::policy::Party::Organisation(orgnr),
        }
    }

    /// Reads a stored party back; `None` when the stored number does not parse.
    pub(crate) fn stored(kind: &str, id: &str, name: &str) -> Option<Party> {
        match kind {
            "person" => Fnr::parse(id).ok().map(|fnr| Party::Person { fnr, name: name.to_owned() }),
            "organisasjon" => OrgNr::parse(id).ok().map(|orgnr| Party::Organisation { orgnr, name: name.to_owned() }),
            _ => None,
        }
    }
}

/// How a service's applications are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionMode {
    /// Always by a caseworker.
    Manual,
    /// By the service's rules when they reach a result.
    Automatic,
    /// By the rules, except that a rejection goes to a caseworker first (til kontroll).
    AutomaticWithReviewOfRejections,
}

impl DecisionMode {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            DecisionMode::Manual => "manuell",
            DecisionMode::Automatic => "automatisk",
            DecisionMode::AutomaticWithReviewOfRejections => "automatisk_med_kontroll_av_avslag",
        }
    }

    /// The mode for a stored code.
    pub fn from_code(code: &str) -> Option<DecisionMode> {
        [DecisionMode::Manual, DecisionMode::Automatic, DecisionMode::AutomaticWithReviewOfRejections]
            .into_iter()
            .find(|m| m.code() == code)
    }
}

/// What the caller knows about the service applied for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    /// The service's id (`barnehageplass`).
    pub id: String,
    /// The definition's version.
    pub version: String,
    /// Its name in the applicant's language.
    pub title: String,
    /// The policy area (`barnehage`), as roles and fullmakter name it.
    pub area: String,
    /// The administrative unit that handles it (a unit code, e.g. `barnehage`).
    pub unit: String,
    /// The archive klasse its saksmapper go under, by its `klasseID` (e.g. `A10`), if any; an
    /// archive without it places them by default (`archive::NewCase::klasse_id`).
    pub classification: Option<String>,
    /// The screening of its saksmapper and journalposter, if any.
    pub screening: Option<archive::Screening>,
    /// How it is decided.
    pub decision_mode: DecisionMode,
    /// When the answer is due (computed by the caller from the service's deadline).
    pub deadline: Date,
    /// Its legal basis (`barnehageloven § 16`).
    pub legal_basis: String,
    /// Who decides an appeal, if anyone.
    pub appeal_body: Option<String>,
    /// The receipt letter's title and opening, from the service's definition in the applicant's
    /// language; `None`: the standard title ("Kvittering: …") and no opening.
    pub receipt: Option<LetterText>,
}

/// A letter's title and an opening paragraph, written for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterText {
    /// The letter's title (one line, at most 200 characters).
    pub title: String,
    /// The paragraph that opens the letter (at most 2,000 characters).
    pub body: String,
}

/// A file sent with an application or an answer, already checked by the caller.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Its title.
    pub title: String,
    /// Its media type, detected from its content.
    pub mime_type: String,
    /// The file name.
    pub filename: String,
    /// The bytes.
    pub bytes: Bytes,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("mime_type", &self.mime_type)
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// The result of a service's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleResult {
    /// The application is granted.
    Grant,
    /// The application is rejected.
    Reject,
    /// The rules cannot decide: a caseworker must.
    Manual,
}

/// A rule that fired, with its explanation in the applicant's language.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FiredRule {
    /// The rule's id.
    pub id: String,
    /// What it found, in plain words.
    pub explanation: String,
}

/// What the rules decided at submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomatedOutcome {
    /// The result.
    pub result: RuleResult,
    /// The rules that fired.
    pub fired: Vec<FiredRule>,
    /// The decision's text, for the letter.
    pub vedtak_text: String,
    /// The reasons, for the letter (the fired rules' explanations are added after it).
    pub reasons_text: String,
}

/// An application, ready to become a case.
#[derive(Debug, Clone)]
pub struct NewApplication {
    /// The same key twice gives the first case back (a double click, a replayed POST).
    pub idempotency_key: String,
    /// The service.
    pub service: ServiceInfo,
    /// Whose affairs the application is about.
    pub applicant: Party,
    /// The person logged in who sent it (who may act for the applicant).
    pub submitted_by: (Fnr, String),
    /// Whom it is for, if not the applicant (the child a kindergarten place is for).
    pub subject: Option<Party>,
    /// The applicant's language: of the receipt and the decision letter.
    pub language: Language,
    /// The case's title.
    pub title: String,
    /// The title without personal data, for the public journal and queues.
    pub public_title: String,
    /// The answers, labelled in the applicant's language.
    pub sections: Vec<render::Section>,
    /// The attachments.
    pub attachments: Vec<Attachment>,
    /// What the rules decided, if the service has rules.
    pub automated: Option<AutomatedOutcome>,
}

/// An application accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The case.
    pub case_id: String,
    /// The saksmappe's mappeID: the case number the applicant sees (`2026/17`).
    pub mappe_id: String,
    /// Its status now.
    pub status: Status,
    /// False when the idempotency key was seen before and this is the first case.
    pub created: bool,
}

/// A case's status, as the applicant sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Status {
    /// Received (mottatt).
    Mottatt,
    /// A caseworker is on it (under behandling).
    UnderBehandling,
    /// Waiting for the applicant to answer a question (venter på deg).
    VenterPaaDeg,
    /// An automated rejection waits for a caseworker's review (til kontroll).
    TilKontroll,
    /// Decided (vedtak fattet).
    VedtakFattet,
    /// Closed (avsluttet).
    Avsluttet,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 6] = [
        Status::Mottatt,
        Status::UnderBehandling,
        Status::VenterPaaDeg,
        Status::TilKontroll,
        Status::VedtakFattet,
        Status::Avsluttet,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Status::Mottatt => "mottatt",
            Status::UnderBehandling => "under_behandling",
            Status::VenterPaaDeg => "venter_paa_deg",
            Status::TilKontroll => "til_kontroll",
            Status::VedtakFattet => "vedtak_fattet",
            Status::Avsluttet => "avsluttet",
        }
    }

    /// The status for a stored code.
    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// What the applicant reads, in their language.
    pub fn label(self, language: Language) -> &'static str {
        match (self, language) {
            (Status::Mottatt, Language::English) => "Received",
            (Status::Mottatt, _) => "Mottatt",
            (Status::UnderBehandling, Language::English) => "Being processed",
            (Status::UnderBehandling, _) => "Under behandling",
            (Status::VenterPaaDeg, Language::English) => "Waiting for you",
            (Status::VenterPaaDeg, Language::Nynorsk) => "Ventar på deg",
            (Status::VenterPaaDeg, _) => "Venter på deg",
            (Status::TilKontroll, Language::English) => "Being checked",
            (Status::TilKontroll, _) => "Til kontroll",
            (Status::VedtakFattet, Language::English) => "Decided",
            (Status::VedtakFattet, _) => "Vedtak fattet",
            (Status::Avsluttet, Language::English) => "Closed",
            (Status::Avsluttet, _) => "Avsluttet",
        }
    }

    /// Whether the case is decided or closed.
    pub fn is_done(self) -> bool {
        matches!(self, Status::VedtakFattet | Status::Avsluttet)
    }
}

/// A case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Its id.
    pub id: String,
    /// The service's id.
    pub service_id: String,
    /// The service's version.
    pub service_version: String,
    /// The service's name in the applicant's language.
    pub service_title: String,
    /// The policy area.
    pub area: String,
    /// The unit that handles it.
    pub unit: String,
    /// The archive klasse (`klasseID`) asked for its saksmappe.
    pub classification: Option<String>,
    /// The screening of its saksmappe.
    pub screening: Option<archive::Screening>,
    /// How it is decided.
    pub decision_mode: DecisionMode,
    /// The service's legal basis.
    pub legal_basis: String,
    /// Who decides an appeal.
    pub appeal_body: Option<String>,
    /// The applicant's language.
    pub language: Language,
    /// Whose affairs.
    pub applicant: Party,
    /// Who sent it: the person logged in (digits) and their name.
    pub submitted_by: (String, String),
    /// Whom it is for, if not the applicant.
    pub subject: Option<Party>,
    /// Its title.
    pub title: String,
    /// Its title without personal data.
    pub public_title: String,
    /// Its status.
    pub status: Status,
    /// The saksmappe (systemID).
    pub saksmappe: String,
    /// The saksmappe's mappeID (`2026/17`).
    pub mappe_id: String,
    /// The incoming journalpost of the application (systemID).
    pub journalpost: String,
    /// Its registreringsID (`2026/17-1`).
    pub registrerings_id: String,
    /// The employee it is assigned to.
    pub assigned_to: Option<String>,
    /// When the answer is due.
    pub deadline: Date,
    /// When a provisional reply (fvl. § 11a) is due, when the deadline is more than a month away.
    pub provisional_reply_due: Option<Date>,
    /// Whether the periodic check has flagged that a provisional reply must be sent.
    pub provisional_reply_flagged: bool,
    /// The rules' outcome kept for a caseworker's review, when not applied.
    pub automated_proposal: Option<serde_json::Value>,
    /// The case this one appeals, if it is a klage.
    pub appeal_of: Option<String>,
    /// A klage that came after the three weeks (fvl. § 31 decides whether it is heard).
    pub appeal_late: bool,
    /// The receipt letter, once sent.
    pub receipt_letter: Option<String>,
    /// When it was received.
    pub received_at: Timestamp,
    /// The day it was received, in Norway.
    pub received_on: Date,
    /// The answers as submitted, labelled in the applicant's language.
    pub sections: Vec<render::Section>,
}

impl Case {
    /// Whether its deadline has passed on `today` and it is not decided.
    pub fn overdue_on(&self, today: Date) -> bool {
        !self.status.is_done() && self.deadline < today
    }
}

/// A case in a list: no personal data (the public title, not the title).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CaseSummary {
    /// Its id.
    pub id: String,
    /// The case number (`2026/17`).
    pub mappe_id: String,
    /// The service.
    pub service_id: String,
    /// The service's name in the applicant's language.
    pub service_title: String,
    /// The title without personal data.
    pub public_title: String,
    /// The unit.
    pub unit: String,
    /// The policy area (`barnehage`), as fullmakter name it.
    pub area: String,
    /// Its status.
    pub status: Status,
    /// The employee it is assigned to.
    pub assigned_to: Option<String>,
    /// When the answer is due (ISO date).
    pub deadline: String,
    /// Past its deadline and not decided.
    pub overdue: bool,
    /// A provisional reply must be sent.
    pub provisional_reply_flagged: bool,
    /// When it was received (milliseconds).
    pub received_at: i64,
    /// The case it appeals.
    pub appeal_of: Option<String>,
}

/// Which cases a queue shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// Only this unit's.
    pub unit: Option<String>,
    /// Only those assigned to this employee.
    pub assigned_to: Option<String>,
    /// Only in this status.
    pub status: Option<Status>,
    /// Only of this service.
    pub service: Option<String>,
    /// Only those past their deadline and not decided.
    pub overdue_only: bool,
    /// At most this many (100 when zero; at most 500).
    pub limit: u32,
    /// After this case id (paging; ids are time-ordered).
    pub after: Option<String>,
}

/// One entry of a case's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct HistoryEntry {
    /// What happened (`mottatt`, `tildelt`, `notat`, `opplysninger_etterspurt`, …).
    pub event: String,
    /// The status after it.
    pub status: String,
    /// Who (`system:cases`, `ansatt:<id>`, `person`).
    pub actor: String,
    /// Detail without personal data (an employee id, a decision id).
    pub detail: Option<String>,
    /// When, in milliseconds.
    pub at: i64,
}

/// An internal note.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Note {
    /// Its id.
    pub id: String,
    /// The employee who wrote it.
    pub author: String,
    /// The text.
    pub text: String,
    /// When.
    pub created_at: i64,
}

/// A request for more information.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct InformationRequest {
    /// Its id.
    pub id: String,
    /// The question.
    pub question: String,
    /// By when (ISO date).
    pub due: String,
    /// The employee who asked.
    pub requested_by: String,
    /// When.
    pub requested_at: i64,
    /// The answer, once given.
    pub answer: Option<String>,
    /// When it was answered.
    pub answered_at: Option<i64>,
    /// The incoming journalpost of the answer.
    pub journalpost: Option<String>,
}

/// The outcome of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Innvilget.
    Grant,
    /// Delvis innvilget.
    PartialGrant,
    /// Avslag.
    Reject,
}

impl Outcome {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Grant => "innvilget",
            Outcome::PartialGrant => "delvis_innvilget",
            Outcome::Reject => "avslag",
        }
    }

    /// The outcome for a stored code.
    pub fn from_code(code: &str) -> Option<Outcome> {
        [Outcome::Grant, Outcome::PartialGrant, Outcome::Reject].into_iter().find(|o| o.code() == code)
    }
}

/// A caseworker's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDecision {
    /// The outcome.
    pub outcome: Outcome,
    /// The decision's text (vedtak).
    pub vedtak: String,
    /// The reasons (begrunnelse, fvl. §§ 24–25).
    pub reasons: String,
    /// The legal basis.
    pub legal_basis: String,
    /// Who decides an appeal (fvl. § 27); the service's when `None`.
    pub appeal_body: Option<String>,
}

/// A decision as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Decision {
    /// Its id.
    pub id: String,
    /// The case.
    pub case_id: String,
    /// The outcome's code (`innvilget`, `delvis_innvilget`, `avslag`).
    pub outcome: String,
    /// The decision's text.
    pub vedtak: String,
    /// The reasons.
    pub reasons: String,
    /// The legal basis.
    pub legal_basis: String,
    /// Who decides an appeal.
    pub appeal_body: Option<String>,
    /// `system` or `ansatt:<id>`.
    pub decided_by: String,
    /// Decided by the rules.
    pub automated: bool,
    /// The rules that fired, JSON (a list of [`FiredRule`]).
    pub fired_rules: String,
    /// The decision letter, once sent.
    pub letter_id: Option<String>,
    /// The day the letter was sent (ISO date).
    pub letter_sent_on: Option<String>,
    /// The last day to appeal: three weeks after the letter (fvl. § 29), ISO date.
    pub appeal_deadline: Option<String>,
    /// When.
    pub created_at: i64,
}

impl Decision {
    /// The rules that fired.
    pub fn fired(&self) -> Vec<FiredRule> {
        serde_json::from_str(&self.fired_rules).unwrap_or_default()
    }
}

/// A decision made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    /// The decision's id.
    pub decision_id: String,
    /// The case.
    pub case_id: String,
}

/// A case as a caseworker sees it: everything, after the policy allowed it and the access log
/// recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseView {
    /// The case.
    pub case: Case,
    /// Its history, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Its notes, oldest first.
    pub notes: Vec<Note>,
    /// Its requests for information.
    pub information_requests: Vec<InformationRequest>,
    /// Its decision, if decided.
    pub decision: Option<Decision>,
}

/// A klage on a decided case.
#[derive(Debug, Clone)]
pub struct NewAppeal {
    /// The same key twice gives the first appeal back.
    pub idempotency_key: String,
    /// Who appeals: must be the case's applicant.
    pub party: Party,
    /// The person logged in who sends it.
    pub submitted_by: (Fnr, String),
    /// The klage's text.
    pub text: String,
    /// Its attachments.
    pub attachments: Vec<Attachment>,
}
