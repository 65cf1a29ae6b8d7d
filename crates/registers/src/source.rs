//! The four registers as traits, each with the local implementation here and an HTTP adapter
//! to the real service in [`crate::adapters`]. Which one runs is configuration.

use std::future::Future;

use kernel::{Fnr, Matrikkelnummer, OrgNr};

use crate::model::{Contact, Organisation, Person, Property};
use crate::{LocalRegisters, RegisterError};

/// Folkeregisteret: persons.
pub trait PersonSource: Send + Sync {
    /// One person, or `None` if the register has no such person.
    fn person(&self, id: &Fnr) -> impl Future<Output = Result<Option<Person>, RegisterError>> + Send;

    /// Up to [`crate::MAX_BATCH`] persons; unknown identifiers are left out.
    fn persons(&self, ids: &[Fnr]) -> impl Future<Output = Result<Vec<Person>, RegisterError>> + Send;
}

/// Enhetsregisteret: organisations.
pub trait OrganisationSource: Send + Sync {
    /// One organisation — a main unit or a sub-unit (underenhet) — with the roles persons hold
    /// in it where the source knows them by fødselsnummer; `None` if the register has no such
    /// number, [`RegisterError::Gone`] if it has been deleted.
    fn organisation(&self, orgnr: &OrgNr) -> impl Future<Output = Result<Option<Organisation>, RegisterError>> + Send;
}

/// Matrikkelen: property.
pub trait PropertySource: Send + Sync {
    /// One property with owners and buildings.
    fn property(
        &self,
        matrikkelnummer: &Matrikkelnummer,
    ) -> impl Future<Output = Result<Option<Property>, RegisterError>> + Send;
}

/// Kontakt- og reservasjonsregisteret: contact details and reservations.
pub trait ContactSource: Send + Sync {
    /// Entries for up to [`crate::MAX_BATCH`] persons; persons without an entry are left out.
    fn contacts(&self, ids: &[Fnr]) -> impl Future<Output = Result<Vec<Contact>, RegisterError>> + Send;
}

impl PersonSource for LocalRegisters {
    async fn person(&self, id: &Fnr) -> Result<Option<Person>, RegisterError> {
        LocalRegisters::person(self, id).await
    }

    async fn persons(&self, ids: &[Fnr]) -> Result<Vec<Person>, RegisterError> {
        LocalRegisters::persons(self, ids).await
    }
}

impl OrganisationSource for LocalRegisters {
    async fn organisation(&self, orgnr: &OrgNr) -> Result<Option<Organisation>, RegisterError> {
        match LocalRegisters::organisation(self, orgnr).await? {
            Some(organisation) if organisation.deleted.is_some() => Err(RegisterError::Gone),
            other => Ok(other),
        }
    }
}

impl PropertySource for LocalRegisters {
    async fn property(&self, matrikkelnummer: &Matrikkelnummer) -> Result<Option<Property>, RegisterError> {
        LocalRegisters::property(self, matrikkelnummer).await
    }
}

impl ContactSource for LocalRegisters {
    async fn contacts(&self, ids: &[Fnr]) -> Result<Vec<Contact>, RegisterError> {
        LocalRegisters::contacts(self, ids).await
    }
}
