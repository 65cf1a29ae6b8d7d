//! Which implementation of each register runs: the local one, or the adapter to the real
//! service. Chosen by configuration: a register with a base URL is reached over HTTP; one without
//! is read from the local database.

use kernel::{Fnr, Matrikkelnummer, OrgNr};
use store::Db;

use crate::adapters::HttpConfig;
use crate::adapters::enhetsregisteret::EnhetsregisteretClient;
use crate::adapters::folkeregisteret::FolkeregisteretClient;
use crate::adapters::krr::KrrClient;
use crate::adapters::matrikkelen::MatrikkelenClient;
use crate::model::{Contact, Organisation, Person, Property};
use crate::{ContactSource, LocalRegisters, OrganisationSource, PersonSource, PropertySource, RegisterError};

/// Where each register is. `None` means the local database.
#[derive(Debug, Clone, Default)]
pub struct RegistersConfig {
    /// Folkeregisteret, and the rettighetspakke to use.
    pub folkeregisteret: Option<(HttpConfig, String)>,
    /// Kontakt- og reservasjonsregisteret.
    pub krr: Option<HttpConfig>,
    /// Enhetsregisteret.
    pub enhetsregisteret: Option<HttpConfig>,
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

/// The four registers as configured.
#[derive(Debug, Clone)]
pub struct Registers {
    /// Folkeregisteret.
    pub persons: Backing<FolkeregisteretClient>,
    /// Enhetsregisteret.
    pub organisations: Backing<EnhetsregisteretClient>,
    /// Matrikkelen.
    pub properties: Backing<MatrikkelenClient>,
    /// KRR.
    pub contacts: Backing<KrrClient>,
}

impl Registers {
    /// Builds every register as `config` says; the local ones read `db`.
    pub fn new(db: Db, config: &RegistersConfig) -> Result<Self, RegisterError> {
        let local = LocalRegisters::new(db);
        Ok(Self {
            persons: match &config.folkeregisteret {
                Some((http, pakke)) => {
                    Backing::Remote(FolkeregisteretClient::new(http.clone())?.with_rettighetspakke(pakke.clone()))
                }
                None => Backing::Local(local.clone()),
            },
            organisations: match &config.enhetsregisteret {
                Some(http) => Backing::Remote(EnhetsregisteretClient::new(http.clone())?),
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
        })
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
