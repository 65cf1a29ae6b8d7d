//! Which implementation of each register runs: the local one, or the adapter to the real
//! service. Chosen by configuration: a register with a base URL is reached over HTTP; one without
//! is read from the local database.

use kernel::{Fnr, Matrikkelnummer, OrgNr};
use store::{Db, Tx};

use crate::adapters::HttpConfig;
use crate::adapters::enhetsregisteret::EnhetsregisteretClient;
use crate::adapters::folkeregisteret::FolkeregisteretClient;
use crate::adapters::krr::KrrClient;
use crate::adapters::matrikkelen::MatrikkelenClient;
use crate::model::{Contact, Organisation, Person, Property};
use crate::{
    Caller, ContactSource, LocalRegisters, MAX_BATCH, OrganisationSource, PersonSource, PropertySource, RegisterError,
};
use audit::{Access, AuditLog};

/// Where each register is. `None` means the local database.
#[derive(Debug, Clone, Default)]
pub struct RegistersConfig {
    /// Folkeregisteret, and the rettighetspakke to use (its name as
    /// [`crate::adapters::Rettighetspakke::parse`] reads it, e.g. `offentlig-med-hjemmel`).
    pub folkeregisteret: Option<(HttpConfig, String)>,
    /// Kontakt- og reservasjonsregisteret.
    pub krr: Option<HttpConfig>,
    /// Enhetsregisteret.
    pub enhetsregisteret: Option<HttpConfig>,
    /// Read Enhetsregisteret's roles, with the holders' fødselsnummer, from its authorised API
    /// (the token must be accepted there). Without it a remote Enhetsregisteret gives
    /// organisations without role holders.
    pub enhetsregisteret_authorised_roles: bool,
    /// Matrikkelen.
    pub matrikkelen: Option<HttpConfig>,
}

/// One register, local or remote.
#[derive(Debug, Clone)]
pub enum Backing<Remote> {
    /// Rows in the platform's database.
    Local(LocalRegisters),
    /// The real service.
    Remote(Remote),
}

impl<Remote> Backing<Remote> {
    /// `local` or `http`, for logs and `allmenning config`.
    pub fn kind(&self) -> &'static str {
        match self {
            Backing::Local(_) => "local",
            Backing::Remote(_) => "http",
        }
    }
}

/// The four registers as configured: the one way the rest of the platform reads them. Every
/// read standing alone is written to the access log, with the caller's purpose and legal
/// basis, and committed before the data is fetched; if the log cannot be written, nothing is
/// read. A caller with a transaction of its own reads with the `_in` forms: the entries are
/// written in its transaction and commit (or roll back) with its writes.
#[derive(Debug, Clone)]
pub struct Registers {
    persons: Backing<FolkeregisteretClient>,
    organisations: Backing<EnhetsregisteretClient>,
    properties: Backing<MatrikkelenClient>,
    contacts: Backing<KrrClient>,
    log: AuditLog,
}

/// Access-log actions, one per kind of read.
pub mod actions {
    /// A person from Folkeregisteret.
    pub const PERSON: &str = "folkeregisteret.person.read";
    /// Contact details from KRR.
    pub const CONTACT: &str = "krr.contact.read";
    /// An organisation from Enhetsregisteret (its roles name persons).
    pub const ORGANISATION: &str = "enhetsregisteret.organisation.read";
    /// A property from Matrikkelen (its owners may be persons).
    pub const PROPERTY: &str = "matrikkelen.property.read";
    /// The organisations where a person holds roles, from Enhetsregisteret.
    pub const ROLES: &str = "enhetsregisteret.roles.read";
    /// The persons someone is guardian (verge) for.
    pub const WARDS: &str = "folkeregisteret.wards.read";
}

impl Registers {
    /// Builds every register as `config` says; the local ones read `db`.
    pub fn new(db: Db, config: &RegistersConfig) -> Result<Self, RegisterError> {
        let log = AuditLog::new(db.clone());
        let local = LocalRegisters::new(db);
        Ok(Self {
            persons: match &config.folkeregisteret {
                Some((http, pakke)) => {
                    let pakke = crate::adapters::Rettighetspakke::parse(pakke).ok_or(RegisterError::Unsupported(
                        "that Folkeregisteret rettighetspakke (see Skatteetaten's Endepunkter.md for the names)",
                    ))?;
                    Backing::Remote(FolkeregisteretClient::new(http.clone())?.with_rettighetspakke(pakke))
                }
                None => Backing::Local(local.clone()),
            },
            organisations: match &config.enhetsregisteret {
                Some(http) => {
                    let client = EnhetsregisteretClient::new(http.clone())?;
                    Backing::Remote(if config.enhetsregisteret_authorised_roles {
                        client.with_authorised_roles()
                    } else {
                        client
                    })
                }
                None => Backing::Local(local.clone()),
            },
            properties: match &config.matrikkelen {
                Some(http) => Backing::Remote(MatrikkelenClient::new(http.clone())?),
                None => Backing::Local(local.clone()),
            },
            contacts: match &config.krr {
                Some(http) => Backing::Remote(KrrClient::new(http.clone())?),
                None => Backing::Local(local),
            },
            log,
        })
    }

    /// Which implementation each register runs (`local` or `http`): Folkeregisteret,
    /// Enhetsregisteret, Matrikkelen, KRR.
    pub fn kinds(&self) -> [(&'static str, &'static str); 4] {
        [
            ("folkeregisteret", self.persons.kind()),
            ("enhetsregisteret", self.organisations.kind()),
            ("matrikkelen", self.properties.kind()),
            ("krr", self.contacts.kind()),
        ]
    }

    /// The entries for reading `ids`, at most [`MAX_BATCH`].
    fn person_accesses<'a>(action: &'a str, ids: &'a [Fnr]) -> Result<Vec<Access<'a>>, RegisterError> {
        if ids.len() > MAX_BATCH {
            return Err(RegisterError::TooManyInBatch(ids.len()));
        }
        Ok(ids.iter().map(|id| Access { action, subject: Some(id), resource: None }).collect())
    }

    /// A read standing alone: its entries are committed first, then the data is read, so
    /// nothing is read (or reaches the network) without its entry, and reads run side by side
    /// rather than inside the single writer's transaction.
    async fn logged<T>(
        &self,
        caller: &Caller,
        accesses: &[Access<'_>],
        read: impl std::future::Future<Output = Result<T, RegisterError>>,
    ) -> Result<T, RegisterError> {
        self.log.record(caller.access(), accesses).await?;
        read.await
    }

    /// One person, logged.
    pub async fn person(&self, caller: &Caller, id: &Fnr) -> Result<Option<Person>, RegisterError> {
        let accesses = Self::person_accesses(actions::PERSON, std::slice::from_ref(id))?;
        self.logged(caller, &accesses, self.persons.person(id)).await
    }

    /// One person, logged inside `tx`: the entry stands or falls with the caller's
    /// transaction, so a case can record its reads atomically with itself. Use what is read
    /// only for what the transaction writes, or once it has committed.
    pub async fn person_in(&self, tx: &mut Tx, caller: &Caller, id: &Fnr) -> Result<Option<Person>, RegisterError> {
        let accesses = Self::person_accesses(actions::PERSON, std::slice::from_ref(id))?;
        AuditLog::record_in(tx, caller.access(), &accesses).await?;
        self.persons.person(id).await
    }

    /// Up to [`MAX_BATCH`] persons, one log entry each, written in one insert.
    pub async fn persons(&self, caller: &Caller, ids: &[Fnr]) -> Result<Vec<Person>, RegisterError> {
        let accesses = Self::person_accesses(actions::PERSON, ids)?;
        self.logged(caller, &accesses, self.persons.persons(ids)).await
    }

    /// Up to [`MAX_BATCH`] persons, logged inside `tx` (see [`Registers::person_in`]).
    pub async fn persons_in(&self, tx: &mut Tx, caller: &Caller, ids: &[Fnr]) -> Result<Vec<Person>, RegisterError> {
        let accesses = Self::person_accesses(actions::PERSON, ids)?;
        AuditLog::record_in(tx, caller.access(), &accesses).await?;
        self.persons.persons(ids).await
    }

    /// KRR entries for up to [`MAX_BATCH`] persons, one log entry each.
    pub async fn contacts(&self, caller: &Caller, ids: &[Fnr]) -> Result<Vec<Contact>, RegisterError> {
        let accesses = Self::person_accesses(actions::CONTACT, ids)?;
        self.logged(caller, &accesses, self.contacts.contacts(ids)).await
    }

    /// KRR entries, logged inside `tx` (see [`Registers::person_in`]).
    pub async fn contacts_in(&self, tx: &mut Tx, caller: &Caller, ids: &[Fnr]) -> Result<Vec<Contact>, RegisterError> {
        let accesses = Self::person_accesses(actions::CONTACT, ids)?;
        AuditLog::record_in(tx, caller.access(), &accesses).await?;
        self.contacts.contacts(ids).await
    }

    /// One organisation, logged by its number.
    pub async fn organisation(&self, caller: &Caller, orgnr: &OrgNr) -> Result<Option<Organisation>, RegisterError> {
        let digits = orgnr.as_digits();
        let access = Access { action: actions::ORGANISATION, subject: None, resource: Some(&digits) };
        self.logged(caller, &[access], self.organisations.organisation(orgnr)).await
    }

    /// One organisation, logged inside `tx` (see [`Registers::person_in`]).
    pub async fn organisation_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        orgnr: &OrgNr,
    ) -> Result<Option<Organisation>, RegisterError> {
        let digits = orgnr.as_digits();
        let access = Access { action: actions::ORGANISATION, subject: None, resource: Some(&digits) };
        AuditLog::record_in(tx, caller.access(), &[access]).await?;
        self.organisations.organisation(orgnr).await
    }

    /// The organisations where `person` holds a role, logged: the one call for "roles by person".
    /// Only the local register answers it today. Enhetsregisteret has no lookup by person, in
    /// its open API or its authorised one (which lists an organisation's role holders, by
    /// number, one organisation at a time); the production source for this question is Altinn
    /// Authorization (the parties a person may represent), which belongs behind this same call.
    /// Until then a remote Enhetsregisteret gives [`RegisterError::Unsupported`], and the
    /// identity layer offers no organisation to act for.
    pub async fn roles_held_by(
        &self,
        caller: &Caller,
        person: &Fnr,
    ) -> Result<Vec<(OrgNr, crate::model::OrganisationRole)>, RegisterError> {
        let Backing::Local(local) = &self.organisations else {
            return Err(RegisterError::Unsupported("roles by person from Enhetsregisteret"));
        };
        let accesses = Self::person_accesses(actions::ROLES, std::slice::from_ref(person))?;
        self.logged(caller, &accesses, local.roles_of(person)).await
    }

    /// The persons `guardian` is verge for, logged. Only the local register answers this; the
    /// real source is Statsforvalteren's vergemålsregister, so a remote one is
    /// [`RegisterError::Unsupported`].
    pub async fn wards_of(&self, caller: &Caller, guardian: &Fnr) -> Result<Vec<Fnr>, RegisterError> {
        let Backing::Local(local) = &self.persons else {
            return Err(RegisterError::Unsupported("wards by guardian"));
        };
        let accesses = Self::person_accesses(actions::WARDS, std::slice::from_ref(guardian))?;
        self.logged(caller, &accesses, local.wards_of(guardian)).await
    }

    /// One property, logged by its matrikkelnummer.
    pub async fn property(
        &self,
        caller: &Caller,
        matrikkelnummer: &Matrikkelnummer,
    ) -> Result<Option<Property>, RegisterError> {
        let key = matrikkelnummer.to_string();
        let access = Access { action: actions::PROPERTY, subject: None, resource: Some(&key) };
        self.logged(caller, &[access], self.properties.property(matrikkelnummer)).await
    }
}

impl PersonSource for Backing<FolkeregisteretClient> {
    async fn person(&self, id: &Fnr) -> Result<Option<Person>, RegisterError> {
        match self {
            Backing::Local(local) => PersonSource::person(local, id).await,
            Backing::Remote(remote) => remote.person(id).await,
        }
    }

    async fn persons(&self, ids: &[Fnr]) -> Result<Vec<Person>, RegisterError> {
        match self {
            Backing::Local(local) => PersonSource::persons(local, ids).await,
            Backing::Remote(remote) => remote.persons(ids).await,
        }
    }
}

impl OrganisationSource for Backing<EnhetsregisteretClient> {
    async fn organisation(&self, orgnr: &OrgNr) -> Result<Option<Organisation>, RegisterError> {
        match self {
            Backing::Local(local) => OrganisationSource::organisation(local, orgnr).await,
            Backing::Remote(remote) => remote.organisation(orgnr).await,
        }
    }
}

impl PropertySource for Backing<MatrikkelenClient> {
    async fn property(&self, matrikkelnummer: &Matrikkelnummer) -> Result<Option<Property>, RegisterError> {
        match self {
            Backing::Local(local) => PropertySource::property(local, matrikkelnummer).await,
            Backing::Remote(remote) => remote.property(matrikkelnummer).await,
        }
    }
}

impl ContactSource for Backing<KrrClient> {
    async fn contacts(&self, ids: &[Fnr]) -> Result<Vec<Contact>, RegisterError> {
        match self {
            Backing::Local(local) => ContactSource::contacts(local, ids).await,
            Backing::Remote(remote) => remote.contacts(ids).await,
        }
    }
}
