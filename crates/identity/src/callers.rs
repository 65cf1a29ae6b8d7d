//! The [`Caller`]s the platform reads the registers with: who reads, for whom, why, and on
//! what legal basis. Every legal basis a read can have is decided here, once, so the access log
//! a resident reads on Min side says the same thing wherever the read was made; `web` and the
//! jobs ask for a caller by what they are doing, not by the words of a law.

use audit::{AccessContext, Actor, LegalBasis, Purpose};
use kernel::{Fnr, OrgNr};
use registers::Caller;

use crate::{ActingAs, IdentityError};

/// A resident reading their own data, or that of whom they act for, to use a service of their
/// own municipality (the municipality's exercise of official authority; the person's right of
/// access under the administration act).
pub const RESIDENT_LEGAL_BASIS: &str = "personvernforordningen art. 6 nr. 1 bokstav e; forvaltningsloven § 17";

/// Why a resident's session reads the registers. The text is what the resident is shown in
/// their access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResidentPurpose {
    /// The name in the page header after login.
    ShowName,
    /// The choice of whom to act for.
    ShowWhomYouCanActFor,
    /// The names in the list of fullmakter.
    ShowFullmakter,
    /// Finding the person a fullmakt is to be given to, by number and surname.
    FindFullmaktHolder,
    /// The language chosen in the contact register, as the site's language after login.
    ChooseLanguage,
}

impl ResidentPurpose {
    /// The purpose as the access log records it (bokmål, like the rest of the log).
    pub fn text(self) -> &'static str {
        match self {
            ResidentPurpose::ShowName => "Innlogging: vise navnet ditt",
            ResidentPurpose::ShowWhomYouCanActFor => "Vise hvem du kan representere",
            ResidentPurpose::ShowFullmakter => "Vise fullmaktene dine",
            ResidentPurpose::FindFullmaktHolder => "Finne personen som skal få fullmakt",
            ResidentPurpose::ChooseLanguage => "Innlogging: vise sidene på språket ditt",
        }
    }
}

fn context(
    actor: Actor,
    acting_for: Option<String>,
    purpose: &str,
    legal_basis: &str,
) -> Result<Caller, IdentityError> {
    Ok(Caller::new(AccessContext {
        actor,
        acting_for,
        purpose: Purpose::parse(purpose)?,
        legal_basis: LegalBasis::parse(legal_basis)?,
    }))
}

/// A logged-in resident, acting as `acting_as`.
pub fn resident(me: &Fnr, acting_as: &ActingAs, purpose: ResidentPurpose) -> Result<Caller, IdentityError> {
    context(Actor::Person(*me), acting_as.audit_label(), purpose.text(), RESIDENT_LEGAL_BASIS)
}

/// An employee reading for a case: the purpose names the case's service and the legal basis is
/// the service's own (its definition states both, e.g. "Søknad om barnehageplass" under
/// "barnehageloven § 16"). Such a caller never sees a protected address unless the service's
/// legal basis allows it and the caller says so with
/// [`Caller::with_protected_address_permission`].
pub fn employee(employee_id: &str, purpose: &str, legal_basis: &str) -> Result<Caller, IdentityError> {
    if employee_id.trim().is_empty() {
        return Err(IdentityError::Invalid("an employee caller needs the employee's id".into()));
    }
    context(Actor::Employee(employee_id.to_owned()), None, purpose, legal_basis)
}

/// Another organisation's system, calling with a Maskinporten token: the legal basis is the
/// agreement behind the scope it was granted.
pub fn machine_client(orgnr: OrgNr, scope: &str) -> Result<Caller, IdentityError> {
    context(
        Actor::Client(orgnr),
        None,
        "Oppslag fra annen virksomhets system",
        &format!("avtale om tilgang (Maskinporten-scope {scope})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_caller_carries_the_legal_basis_decided_here() {
        let me = Fnr::parse("20914695016").expect("synthetic");
        let caller = resident(&me, &ActingAs::Myself, ResidentPurpose::ShowName).expect("caller");
        assert_eq!(caller.access().legal_basis.as_str(), RESIDENT_LEGAL_BASIS);
        assert_eq!(caller.access().purpose.as_str(), "Innlogging: vise navnet ditt");
        assert!(caller.protected_address_grant().is_none());

        let child = Fnr::parse("30108299939").expect("valid");
        let acting = resident(&me, &ActingAs::Child(child), ResidentPurpose::ShowWhomYouCanActFor).expect("caller");
        assert_eq!(acting.access().acting_for.as_deref(), Some("child:30108299939"));

        let orgnr = OrgNr::parse("974760673").expect("orgnr");
        let client = machine_client(orgnr, "allmenning:enhetsregisteret.read").expect("caller");
        assert_eq!(client.access().actor, Actor::Client(orgnr));
        assert!(client.access().legal_basis.as_str().contains("allmenning:enhetsregisteret.read"));

        let caseworker = employee("e-1", "Søknad om barnehageplass", "barnehageloven § 16").expect("caller");
        assert_eq!(caseworker.access().actor, Actor::Employee("e-1".into()));
        assert!(caseworker.protected_address_grant().is_none());
        assert!(matches!(employee("e-1", "", "barnehageloven § 16"), Err(IdentityError::Audit(_))));
        assert!(matches!(employee(" ", "x", "y"), Err(IdentityError::Invalid(_))));
    }
}
