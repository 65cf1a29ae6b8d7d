//! Inquiries (henvendelser): a light case type for questions and reports that reach the
//! municipality by web, phone, counter, e-mail or chat — registered, answered, closed, with the
//! time to answer kept so the governance work can measure it.
//!
//! One with archive duty is journaled: a saksmappe with the inquiry as an incoming journalpost
//! (rendered as PDF/A); the answer is a letter through `post` (journaled as outgoing, writing
//! the incoming one off) when the inquirer is a person with a fødselsnummer, and otherwise a
//! notat (journalpost X) in the saksmappe that writes it off (`BN`), since there is no one post
//! could route a letter to.

use std::collections::BTreeMap;

use archive::{
    Archive, Avskrivningsmaate, CorrespondentRole, DocumentRole, JournalpostType, NewCase, NewDocument, NewJournalpost,
    WriteOff,
};
use identity::employees::Employee;
use identity::policy::{self, Action, Asker, Resource};
use kernel::{Kommunenummer, Language, Timestamp};
use post::TemplateContent;
use store::{Param, params};

use crate::CaseError;
use crate::Cases;
use crate::engine::{
    PDF_A_2A, SENDER, correspondent, employee_actor, line, paragraphs, recipient, record, system_actor, truncate,
};
use crate::model::Party;

/// The category of a report that a prefilled register fact is wrong.
pub const WRONG_REGISTER_FACT: &str = "feil_i_registeropplysning";

/// How an inquiry came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Channel {
    /// The contact form.
    Web,
    /// The telephone.
    Phone,
    /// The service desk.
    Counter,
    /// E-mail.
    Email,
    /// Chat.
    Chat,
}

impl Channel {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Phone => "telefon",
            Channel::Counter => "skranke",
            Channel::Email => "epost",
            Channel::Chat => "chat",
        }
    }

    /// The channel for a stored code.
    pub fn from_code(code: &str) -> Option<Channel> {
        [Channel::Web, Channel::Phone, Channel::Counter, Channel::Email, Channel::Chat]
            .into_iter()
            .find(|c| c.code() == code)
    }
}

/// Where an inquiry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum InquiryStatus {
    /// Registered, not answered.
    Registrert,
    /// Answered.
    Besvart,
    /// Closed.
    Lukket,
}

impl InquiryStatus {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            InquiryStatus::Registrert => "registrert",
            InquiryStatus::Besvart => "besvart",
            InquiryStatus::Lukket => "lukket",
        }
    }

    /// The status for a stored code.
    pub fn from_code(code: &str) -> Option<InquiryStatus> {
        [InquiryStatus::Registrert, InquiryStatus::Besvart, InquiryStatus::Lukket]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// An inquiry to register.
#[derive(Debug, Clone)]
pub struct NewInquiry {
    /// How it came in.
    pub channel: Channel,
    /// The service it is about, if any.
    pub service_id: Option<String>,
    /// Its category (by service; [`WRONG_REGISTER_FACT`] for a wrong prefilled fact).
    pub category: String,
    /// The unit that answers it (given by the caller).
    pub unit: String,
    /// What was asked or reported.
    pub text: String,
    /// Who, when known.
    pub from: Option<Party>,
    /// An e-mail address or phone number to answer to, when given.
    pub contact: Option<String>,
    /// The employee who registered it (at the service desk), if not the resident.
    pub registered_by: Option<String>,
    /// Whether it must be journaled (arkivplikt).
    pub archive_duty: bool,
    /// The inquirer's language (of the journaled document and the answer letter).
    pub language: Language,
}

/// An inquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inquiry {
    /// Its id.
    pub id: String,
    /// How it came in.
    pub channel: Channel,
    /// The service it is about.
    pub service_id: Option<String>,
    /// Its category.
    pub category: String,
    /// The unit that answers it.
    pub unit: String,
    /// What was asked.
    pub text: String,
    /// Who asked.
    pub from: Option<Party>,
    /// Where to answer.
    pub contact: Option<String>,
    /// The employee who registered it.
    pub registered_by: Option<String>,
    /// Journaled.
    pub archive_duty: bool,
    /// Where it stands.
    pub status: InquiryStatus,
    /// The saksmappe, when journaled.
    pub saksmappe: Option<String>,
    /// The incoming journalpost, when journaled.
    pub journalpost: Option<String>,
    /// The answer.
    pub answer: Option<String>,
    /// Who answered.
    pub answered_by: Option<String>,
    /// When it was answered (milliseconds).
    pub answered_at: Option<i64>,
    /// How the answer went out: `brev:<letter id>`, `notat:<journalpost>` or `registrert`.
    pub answer_reference: Option<String>,
    /// When it was closed.
    pub closed_at: Option<i64>,
    /// When it was registered.
    pub created_at: i64,
}

impl Inquiry {
    /// The time from registration to answer, in seconds.
    pub fn seconds_to_answer(&self) -> Option<i64> {
        self.answered_at.map(|at| (at - self.created_at).max(0) / 1000)
    }
}

/// Which inquiries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InquiryFilter {
    /// Only this unit's.
    pub unit: Option<String>,
    /// Only in this status.
    pub status: Option<InquiryStatus>,
    /// Only of this category.
    pub category: Option<String>,
    /// Only those that came in by this channel.
    pub channel: Option<Channel>,
    /// At most this many (100 when zero; at most 500).
    pub limit: u32,
}

/// What the governance work measures of the inquiries registered since a time.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct InquiryStatistics {
    /// Registered.
    pub registered: u64,
    /// Answered (including those closed after an answer).
    pub answered: u64,
    /// Closed.
    pub closed: u64,
    /// The median time from registration to answer, in seconds.
    pub median_seconds_to_answer: Option<i64>,
    /// Registered per channel code, in code order.
    pub by_channel: Vec<(String, u64)>,
}

#[derive(serde::Deserialize)]
struct Row {
    id: String,
    channel: String,
    service_id: Option<String>,
    category: String,
    unit: String,
    text: String,
    from_kind: Option<String>,
    from_id: Option<String>,
    from_name: Option<String>,
    contact: Option<String>,
    registered_by: Option<String>,
    archive_duty: bool,
    status: String,
    saksmappe: Option<String>,
    journalpost: Option<String>,
    answer: Option<String>,
    answered_by: Option<String>,
    answered_at: Option<i64>,
    answer_reference: Option<String>,
    closed_at: Option<i64>,
    created_at: i64,
}

const COLUMNS: &str = "id, channel, service_id, category, unit, text, from_kind, from_id, from_name, contact, \
    registered_by, archive_duty, status, saksmappe, journalpost, answer, answered_by, answered_at, answer_reference, \
    closed_at, created_at";

impl Row {
    fn into_inquiry(self) -> Result<Inquiry, CaseError> {
        let from = match (&self.from_kind, &self.from_id, &self.from_name) {
            (Some(kind), Some(id), Some(name)) => {
                Some(Party::stored(kind, id, name).ok_or_else(|| CaseError::Malformed("inquirer".into()))?)
            }
            _ => None,
        };
        Ok(Inquiry {
            channel: Channel::from_code(&self.channel).ok_or_else(|| CaseError::Malformed("channel".into()))?,
            status: InquiryStatus::from_code(&self.status).ok_or_else(|| CaseError::Malformed("status".into()))?,
            from,
            id: self.id,
            service_id: self.service_id,
            category: self.category,
            unit: self.unit,
            text: self.text,
            contact: self.contact,
            registered_by: self.registered_by,
            archive_duty: self.archive_duty,
            saksmappe: self.saksmappe,
            journalpost: self.journalpost,
            answer: self.answer,
            answered_by: self.answered_by,
            answered_at: self.answered_at,
            answer_reference: self.answer_reference,
            closed_at: self.closed_at,
            created_at: self.created_at,
        })
    }
}

fn labels(language: Language) -> [&'static str; 5] {
    match language {
        Language::English => ["Inquiry", "Channel", "Category", "Text", "Answer"],
        Language::Nynorsk => ["Førespurnad", "Kanal", "Kategori", "Tekst", "Svar"],
        Language::Bokmal => ["Henvendelse", "Kanal", "Kategori", "Tekst", "Svar"],
    }
}

/// Whether the employee works in the unit (saksbehandler or leder there).
fn may_handle(employee: &Employee, unit: &str) -> Result<(), CaseError> {
    if !employee.active {
        return Err(CaseError::Forbidden("the employee is not active"));
    }
    match policy::decide(&Asker::Employee { roles: &employee.roles }, Action::HandleCase, &Resource::UnitCases { unit })
    {
        policy::Decision::Allow => Ok(()),
        policy::Decision::Deny(reason) => Err(CaseError::Forbidden(reason)),
    }
}

impl Cases {
    /// Registers an inquiry; with archive duty, journals it (saksmappe + incoming journalpost)
    /// in the same transaction. Returns its id.
    pub async fn register_inquiry(&self, k: Kommunenummer, inquiry: NewInquiry) -> Result<String, CaseError> {
        let category = line(&inquiry.category, "category", 100)?;
        let unit = line(&inquiry.unit, "unit", 100)?;
        let text = paragraphs(&inquiry.text, "text", 10_000)?;
        let service_id = inquiry.service_id.as_deref().map(|s| line(s, "service id", 100)).transpose()?;
        let contact = inquiry.contact.as_deref().map(|c| line(c, "contact", 200)).transpose()?;
        let registered_by = inquiry.registered_by.as_deref().map(|r| line(r, "registered by", 100)).transpose()?;
        if let Some(from) = &inquiry.from {
            line(from.name(), "inquirer name", 200)?;
        }
        let id = uuid::Uuid::now_v7().to_string();
        let now = Timestamp::now();
        let mut tx = self.inner.db.begin().await?;
        tx.municipal(k)
            .execute(
                &format!(
                    "INSERT INTO case_inquiries (kommunenummer, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                     $10, $11, $12, $13, $14, NULL, NULL, NULL, NULL, NULL, NULL, NULL, $15)"
                ),
                &params![
                    id.as_str(),
                    inquiry.channel.code(),
                    service_id.clone(),
                    category.as_str(),
                    unit.as_str(),
                    text.as_str(),
                    inquiry.from.as_ref().map(Party::kind),
                    inquiry.from.as_ref().map(Party::identifier),
                    inquiry.from.as_ref().map(|p| p.name().trim().to_owned()),
                    contact,
                    registered_by,
                    inquiry.archive_duty,
                    InquiryStatus::Registrert.code(),
                    now,
                ],
            )
            .await?;
        if inquiry.archive_duty {
            let [title, channel_label, category_label, text_label, _] = labels(inquiry.language);
            let public_title = truncate(&format!("{title}: {category}"), 250);
            let actor = system_actor();
            let saksmappe = self
                .inner
                .noark
                .create_case(
                    &mut tx,
                    k,
                    &actor,
                    NewCase {
                        tittel: public_title.clone(),
                        offentlig_tittel: Some(public_title.clone()),
                        administrativ_enhet: unit.clone(),
                        saksansvarlig: unit.clone(),
                        arkivdel: None,
                        klasse: None,
                        klasse_id: None,
                        parter: Vec::new(),
                        screening: None,
                    },
                )
                .await?;
            let pdf = self.render(
                k,
                inquiry.language,
                &unit,
                &public_title,
                Some(&saksmappe.mappe_id),
                vec![render::Section {
                    heading: title.to_owned(),
                    rows: vec![
                        (channel_label.to_owned(), inquiry.channel.code().to_owned()),
                        (category_label.to_owned(), category.clone()),
                        (text_label.to_owned(), text.clone()),
                    ],
                }],
            )?;
            let sender = match &inquiry.from {
                Some(party) => correspondent(party, CorrespondentRole::Avsender),
                None => {
                    let mut anonymous = archive::Correspondent::person("Ukjent");
                    anonymous.role = Some(CorrespondentRole::Avsender);
                    anonymous
                }
            };
            let journaled = Archive::journal(
                &self.inner.noark,
                &mut tx,
                k,
                &actor,
                NewJournalpost {
                    case: saksmappe.system_id.clone(),
                    kind: JournalpostType::Inngaaende,
                    tittel: public_title.clone(),
                    offentlig_tittel: Some(public_title),
                    dokumentets_dato: Some(time::OffsetDateTime::now_utc()),
                    korrespondanseparter: vec![sender],
                    documents: vec![NewDocument {
                        tittel: title.to_owned(),
                        role: DocumentRole::Hoveddokument,
                        mime_type: "application/pdf".to_owned(),
                        format: Some(PDF_A_2A.to_owned()),
                        filnavn: Some("henvendelse.pdf".to_owned()),
                        bytes: pdf,
                    }],
                    screening: None,
                },
            )
            .await?;
            tx.municipal(k)
                .execute(
                    "UPDATE case_inquiries SET saksmappe = $3, journalpost = $4 WHERE kommunenummer = $1 AND id = $2",
                    &params![id.as_str(), saksmappe.system_id.as_str(), journaled.system_id.as_str()],
                )
                .await?;
        }
        let actor = inquiry.registered_by.as_deref().map_or_else(|| "person".to_owned(), |e| format!("ansatt:{e}"));
        record(&mut tx, k, &id, InquiryStatus::Registrert.code(), "henvendelse_registrert", &actor, None).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// An inquiry.
    pub async fn inquiry(&self, k: Kommunenummer, id: &str) -> Result<Option<Inquiry>, CaseError> {
        self.inner
            .db
            .municipal(k)
            .fetch_optional::<Row>(
                &format!("SELECT {COLUMNS} FROM case_inquiries WHERE kommunenummer = $1 AND id = $2"),
                &params![id],
            )
            .await?
            .map(Row::into_inquiry)
            .transpose()
    }

    /// An inquiry as an employee of its unit sees it: the policy first (another unit's is
    /// `Forbidden`, and only its unit was read), then, when it names a person, an access-log
    /// entry about them (`cases.inquiry.read`, purpose `Saksbehandling`, the municipality's duty
    /// to guide, forvaltningsloven § 11) in the same transaction as the read.
    pub async fn view_inquiry_as_employee(
        &self,
        k: Kommunenummer,
        employee: &Employee,
        id: &str,
    ) -> Result<Inquiry, CaseError> {
        #[derive(serde::Deserialize)]
        struct UnitRow {
            unit: String,
        }
        let mut tx = self.inner.db.begin().await?;
        let unit = tx
            .municipal(k)
            .fetch_optional::<UnitRow>(
                "SELECT unit FROM case_inquiries WHERE kommunenummer = $1 AND id = $2",
                &params![id],
            )
            .await?
            .ok_or(CaseError::NotFound)?
            .unit;
        may_handle(employee, &unit)?;
        let inquiry = tx
            .municipal(k)
            .fetch_optional::<Row>(
                &format!("SELECT {COLUMNS} FROM case_inquiries WHERE kommunenummer = $1 AND id = $2"),
                &params![id],
            )
            .await?
            .ok_or(CaseError::NotFound)?
            .into_inquiry()?;
        if let Some(fnr) = inquiry.from.as_ref().and_then(Party::fnr) {
            let context = audit::AccessContext {
                actor: audit::Actor::Employee(employee.id.clone()),
                acting_for: None,
                purpose: audit::Purpose::parse("Saksbehandling")?,
                legal_basis: audit::LegalBasis::parse("forvaltningsloven § 11")?,
            };
            let access =
                audit::Access { action: "cases.inquiry.read", subject: Some(fnr), resource: Some(&inquiry.id) };
            audit::AuditLog::record_in(&mut tx, &context, &[access]).await?;
        }
        tx.commit().await?;
        Ok(inquiry)
    }

    /// Answers an inquiry (an employee of its unit). With archive duty the answer is journaled:
    /// a letter through post to a person with a fødselsnummer, otherwise a notat (X) that
    /// writes the incoming journalpost off.
    pub async fn answer_inquiry(
        &self,
        k: Kommunenummer,
        by: &Employee,
        id: &str,
        answer: &str,
        language: Language,
    ) -> Result<(), CaseError> {
        let answer = paragraphs(answer, "answer", 20_000)?;
        let inquiry = self.inquiry(k, id).await?.ok_or(CaseError::NotFound)?;
        may_handle(by, &inquiry.unit)?;
        if inquiry.status != InquiryStatus::Registrert {
            return Err(CaseError::Conflict("the inquiry is answered or closed already".to_owned()));
        }
        let [title, _, _, _, answer_label] = labels(language);
        let mut open_tx = None;
        let reference = match (&inquiry.archive_duty, &inquiry.saksmappe, &inquiry.journalpost, &inquiry.from) {
            (true, Some(saksmappe), Some(journalpost), Some(party @ Party::Person { .. })) => {
                // Post runs its own transaction; the letter is sent once under its reference.
                let sent = self
                    .inner
                    .post
                    .send_template(
                        k,
                        post::NewLetter {
                            sender: post::Sender { id: SENDER.to_owned(), name: inquiry.unit.clone() },
                            external_ref: Some(format!("henvendelse:{id}")),
                            recipient: recipient(party),
                            kind: String::new(),
                            title: match language {
                                Language::English => "Answer to your inquiry".to_owned(),
                                Language::Nynorsk => "Svar på førespurnaden din".to_owned(),
                                Language::Bokmal => "Svar på henvendelsen din".to_owned(),
                            },
                            sender_unit: inquiry.unit.clone(),
                            documents: Vec::new(),
                            digital_only: false,
                            security_level: 3,
                            reply_allowed: false,
                            case: Some(saksmappe.clone()),
                            answers: Some(journalpost.clone()),
                            language: Some(language),
                        },
                        TemplateContent {
                            kind: render::LetterKind::Fritt,
                            fields: BTreeMap::new(),
                            paragraphs: answer.split("\n\n").map(str::to_owned).collect(),
                        },
                    )
                    .await?;
                format!("brev:{}", sent.id)
            }
            (true, Some(saksmappe), Some(journalpost), _) => {
                let mappe_id = self.inner.noark.get(k, saksmappe).await?.text("mappeID").unwrap_or_default().to_owned();
                let pdf = self.render(
                    k,
                    language,
                    &inquiry.unit,
                    &format!("{answer_label}: {title}"),
                    Some(&mappe_id),
                    vec![render::Section {
                        heading: answer_label.to_owned(),
                        rows: vec![(answer_label.to_owned(), answer.clone())],
                    }],
                )?;
                let actor = employee_actor(by);
                let tx = open_tx.insert(self.inner.db.begin().await?);
                let mut internal = archive::Correspondent::intern(by.name.clone());
                internal.administrativ_enhet = Some(inquiry.unit.clone());
                let notat = Archive::journal(
                    &self.inner.noark,
                    tx,
                    k,
                    &actor,
                    NewJournalpost {
                        case: saksmappe.clone(),
                        kind: JournalpostType::InterntUtenOppfoelging,
                        tittel: format!("{answer_label}: {title}"),
                        offentlig_tittel: Some(format!("{answer_label}: {title}")),
                        dokumentets_dato: Some(time::OffsetDateTime::now_utc()),
                        korrespondanseparter: vec![internal],
                        documents: vec![NewDocument {
                            tittel: answer_label.to_owned(),
                            role: DocumentRole::Hoveddokument,
                            mime_type: "application/pdf".to_owned(),
                            format: Some(PDF_A_2A.to_owned()),
                            filnavn: Some("svar.pdf".to_owned()),
                            bytes: pdf,
                        }],
                        screening: None,
                    },
                )
                .await?;
                self.inner
                    .noark
                    .write_off(
                        tx,
                        k,
                        &actor,
                        journalpost,
                        WriteOff::Reply {
                            journalpost: notat.system_id.clone(),
                            how: Avskrivningsmaate::BesvartMedNotat,
                        },
                    )
                    .await?;
                format!("notat:{}", notat.system_id)
            }
            _ => "registrert".to_owned(),
        };
        let mut tx = match open_tx {
            Some(tx) => tx,
            None => self.inner.db.begin().await?,
        };
        let changed = tx
            .municipal(k)
            .execute(
                "UPDATE case_inquiries SET status = $3, answer = $4, answered_by = $5, answered_at = $6, \
                 answer_reference = $7 WHERE kommunenummer = $1 AND id = $2 AND status = $8",
                &params![
                    id,
                    InquiryStatus::Besvart.code(),
                    answer,
                    by.id.as_str(),
                    Timestamp::now(),
                    reference,
                    InquiryStatus::Registrert.code()
                ],
            )
            .await?;
        if changed == 0 {
            tx.rollback().await?;
            return Err(CaseError::Conflict("the inquiry is answered or closed already".to_owned()));
        }
        record(
            &mut tx,
            k,
            id,
            InquiryStatus::Besvart.code(),
            "henvendelse_besvart",
            &format!("ansatt:{}", by.id),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Closes an inquiry (an employee of its unit). An unanswered one with archive duty is
    /// written off as taken into account (`TO`).
    pub async fn close_inquiry(&self, k: Kommunenummer, by: &Employee, id: &str) -> Result<(), CaseError> {
        let inquiry = self.inquiry(k, id).await?.ok_or(CaseError::NotFound)?;
        may_handle(by, &inquiry.unit)?;
        if inquiry.status == InquiryStatus::Lukket {
            return Err(CaseError::Conflict("the inquiry is closed already".to_owned()));
        }
        let mut tx = self.inner.db.begin().await?;
        if let (InquiryStatus::Registrert, Some(journalpost)) = (inquiry.status, &inquiry.journalpost) {
            self.inner
                .noark
                .write_off(
                    &mut tx,
                    k,
                    &employee_actor(by),
                    journalpost,
                    WriteOff::Without(Avskrivningsmaate::TattTilOrientering),
                )
                .await?;
        }
        let changed = tx
            .municipal(k)
            .execute(
                "UPDATE case_inquiries SET status = $3, closed_at = $4 WHERE kommunenummer = $1 AND id = $2 AND status = $5",
                &params![id, InquiryStatus::Lukket.code(), Timestamp::now(), inquiry.status.code()],
            )
            .await?;
        if changed == 0 {
            tx.rollback().await?;
            return Err(CaseError::Conflict("the inquiry changed meanwhile".to_owned()));
        }
        record(&mut tx, k, id, InquiryStatus::Lukket.code(), "henvendelse_lukket", &format!("ansatt:{}", by.id), None)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The inquiries registered since `since`, counted, with the median time to answer.
    pub async fn inquiry_statistics(&self, k: Kommunenummer, since: Timestamp) -> Result<InquiryStatistics, CaseError> {
        #[derive(serde::Deserialize)]
        struct Figures {
            channel: String,
            status: String,
            created_at: i64,
            answered_at: Option<i64>,
        }
        let rows = self
            .inner
            .db
            .municipal(k)
            .fetch_all::<Figures>(
                "SELECT channel, status, created_at, answered_at FROM case_inquiries \
                 WHERE kommunenummer = $1 AND created_at >= $2",
                &params![since],
            )
            .await?;
        let mut statistics = InquiryStatistics::default();
        let mut times = Vec::new();
        let mut channels: BTreeMap<String, u64> = BTreeMap::new();
        for row in rows {
            statistics.registered += 1;
            *channels.entry(row.channel).or_default() += 1;
            if let Some(at) = row.answered_at {
                statistics.answered += 1;
                times.push((at - row.created_at).max(0) / 1000);
            }
            if row.status == InquiryStatus::Lukket.code() {
                statistics.closed += 1;
            }
        }
        times.sort_unstable();
        statistics.median_seconds_to_answer = times.get(times.len() / 2).copied();
        statistics.by_channel = channels.into_iter().collect();
        Ok(statistics)
    }

    /// Inquiries, oldest first.
    pub async fn inquiries(&self, k: Kommunenummer, filter: &InquiryFilter) -> Result<Vec<Inquiry>, CaseError> {
        let mut conditions = vec!["kommunenummer = $1".to_owned()];
        let mut args: Vec<Param> = Vec::new();
        if let Some(unit) = &filter.unit {
            args.push(Param::from(unit.as_str()));
            conditions.push(format!("unit = ${}", args.len() + 1));
        }
        if let Some(status) = filter.status {
            args.push(Param::from(status.code()));
            conditions.push(format!("status = ${}", args.len() + 1));
        }
        if let Some(category) = &filter.category {
            args.push(Param::from(category.as_str()));
            conditions.push(format!("category = ${}", args.len() + 1));
        }
        if let Some(channel) = filter.channel {
            args.push(Param::from(channel.code()));
            conditions.push(format!("channel = ${}", args.len() + 1));
        }
        let limit = if filter.limit == 0 { 100 } else { filter.limit.min(500) };
        args.push(Param::from(i64::from(limit)));
        let sql = format!(
            "SELECT {COLUMNS} FROM case_inquiries WHERE {} ORDER BY created_at, id LIMIT ${}",
            conditions.join(" AND "),
            args.len() + 1
        );
        let rows = self.inner.db.municipal(k).fetch_all::<Row>(&sql, &args).await?;
        rows.into_iter().map(Row::into_inquiry).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for channel in [Channel::Web, Channel::Phone, Channel::Counter, Channel::Email, Channel::Chat] {
            assert_eq!(Channel::from_code(channel.code()), Some(channel));
        }
        for status in [InquiryStatus::Registrert, InquiryStatus::Besvart, InquiryStatus::Lukket] {
            assert_eq!(InquiryStatus::from_code(status.code()), Some(status));
        }
    }

    #[test]
    fn time_to_answer_is_in_whole_seconds() {
        let inquiry = Inquiry {
            id: "x".into(),
            channel: Channel::Phone,
            service_id: None,
            category: "c".into(),
            unit: "u".into(),
            text: "t".into(),
            from: None,
            contact: None,
            registered_by: None,
            archive_duty: false,
            status: InquiryStatus::Besvart,
            saksmappe: None,
            journalpost: None,
            answer: None,
            answered_by: None,
            answered_at: Some(91_500),
            answer_reference: None,
            closed_at: None,
            created_at: 1_000,
        };
        assert_eq!(inquiry.seconds_to_answer(), Some(90));
    }
}
