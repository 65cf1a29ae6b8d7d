//! The register facts a definition may bind a field to or use in a rule, by their names
//! (`person.age`, `child.age_months`, `organisation.bankrupt`). `person` is the one logged in;
//! `child`, `ward` and `organisation` are whom they act for.

use serde::{Deserialize, Serialize};

use crate::definition::Applicant;

/// A register fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Fact {
    /// The applicant's full name.
    #[serde(rename = "person.name")]
    PersonName,
    /// The applicant's birth date.
    #[serde(rename = "person.birth_date")]
    PersonBirthDate,
    /// The applicant's age in whole years.
    #[serde(rename = "person.age")]
    PersonAge,
    /// The applicant's address; absent when it is protected (adressebeskyttelse).
    #[serde(rename = "person.address")]
    PersonAddress,
    /// The applicant's bosted kommune (number); absent when the address is protected.
    #[serde(rename = "person.bosted_kommune")]
    PersonBostedKommune,
    /// Whether the applicant lives in this municipality.
    #[serde(rename = "person.lives_here")]
    PersonLivesHere,
    /// The children under 18 the applicant has parental responsibility for, by name and birth date.
    #[serde(rename = "person.children")]
    PersonChildren,
    /// The applicant's e-mail address in KRR.
    #[serde(rename = "person.email")]
    PersonEmail,
    /// The applicant's mobile number in KRR.
    #[serde(rename = "person.mobile")]
    PersonMobile,
    /// The child's full name.
    #[serde(rename = "child.name")]
    ChildName,
    /// The child's birth date.
    #[serde(rename = "child.birth_date")]
    ChildBirthDate,
    /// The child's age in whole years.
    #[serde(rename = "child.age_years")]
    ChildAgeYears,
    /// The child's age in whole months.
    #[serde(rename = "child.age_months")]
    ChildAgeMonths,
    /// Whether the child lives in this municipality.
    #[serde(rename = "child.lives_here")]
    ChildLivesHere,
    /// The ward's full name.
    #[serde(rename = "ward.name")]
    WardName,
    /// The ward's age in whole years.
    #[serde(rename = "ward.age")]
    WardAge,
    /// Whether the ward lives in this municipality.
    #[serde(rename = "ward.lives_here")]
    WardLivesHere,
    /// The organisation's name.
    #[serde(rename = "organisation.name")]
    OrganisationName,
    /// The organisation's form (AS, ENK, ...).
    #[serde(rename = "organisation.form")]
    OrganisationForm,
    /// The organisation's business address.
    #[serde(rename = "organisation.address")]
    OrganisationAddress,
    /// The organisation's industry code (NACE).
    #[serde(rename = "organisation.industry_code")]
    OrganisationIndustryCode,
    /// Whether the organisation is bankrupt.
    #[serde(rename = "organisation.bankrupt")]
    OrganisationBankrupt,
    /// Whether the organisation is deleted from Enhetsregisteret.
    #[serde(rename = "organisation.deleted")]
    OrganisationDeleted,
    /// The applicant's role in the organisation (`DAGL`, `LEDE`, ...).
    #[serde(rename = "organisation.role")]
    OrganisationRole,
}

/// Which register a fact comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Folkeregisteret.
    Folkeregisteret,
    /// Kontakt- og reservasjonsregisteret.
    Krr,
    /// Enhetsregisteret.
    Enhetsregisteret,
}

impl Source {
    /// The register's name, as the page shows it ("Hentet fra Folkeregisteret").
    pub fn name(self) -> &'static str {
        match self {
            Source::Folkeregisteret => "Folkeregisteret",
            Source::Krr => "Kontakt- og reservasjonsregisteret",
            Source::Enhetsregisteret => "Enhetsregisteret",
        }
    }
}

impl Fact {
    /// Every fact.
    pub const ALL: [Fact; 24] = [
        Fact::PersonName,
        Fact::PersonBirthDate,
        Fact::PersonAge,
        Fact::PersonAddress,
        Fact::PersonBostedKommune,
        Fact::PersonLivesHere,
        Fact::PersonChildren,
        Fact::PersonEmail,
        Fact::PersonMobile,
        Fact::ChildName,
        Fact::ChildBirthDate,
        Fact::ChildAgeYears,
        Fact::ChildAgeMonths,
        Fact::ChildLivesHere,
        Fact::WardName,
        Fact::WardAge,
        Fact::WardLivesHere,
        Fact::OrganisationName,
        Fact::OrganisationForm,
        Fact::OrganisationAddress,
        Fact::OrganisationIndustryCode,
        Fact::OrganisationBankrupt,
        Fact::OrganisationDeleted,
        Fact::OrganisationRole,
    ];

    /// The fact's name, as definitions and rules spell it.
    pub fn name(self) -> &'static str {
        match self {
            Fact::PersonName => "person.name",
            Fact::PersonBirthDate => "person.birth_date",
            Fact::PersonAge => "person.age",
            Fact::PersonAddress => "person.address",
            Fact::PersonBostedKommune => "person.bosted_kommune",
            Fact::PersonLivesHere => "person.lives_here",
            Fact::PersonChildren => "person.children",
            Fact::PersonEmail => "person.email",
            Fact::PersonMobile => "person.mobile",
            Fact::ChildName => "child.name",
            Fact::ChildBirthDate => "child.birth_date",
            Fact::ChildAgeYears => "child.age_years",
            Fact::ChildAgeMonths => "child.age_months",
            Fact::ChildLivesHere => "child.lives_here",
            Fact::WardName => "ward.name",
            Fact::WardAge => "ward.age",
            Fact::WardLivesHere => "ward.lives_here",
            Fact::OrganisationName => "organisation.name",
            Fact::OrganisationForm => "organisation.form",
            Fact::OrganisationAddress => "organisation.address",
            Fact::OrganisationIndustryCode => "organisation.industry_code",
            Fact::OrganisationBankrupt => "organisation.bankrupt",
            Fact::OrganisationDeleted => "organisation.deleted",
            Fact::OrganisationRole => "organisation.role",
        }
    }

    /// The fact's label, as a summary shows it when no form field carries it.
    pub fn label(self, language: kernel::Language) -> &'static str {
        let [nb, nn, en] = match self {
            Fact::PersonName => ["Navn", "Namn", "Name"],
            Fact::PersonBirthDate => ["Fødselsdato", "Fødselsdato", "Date of birth"],
            Fact::PersonAge => ["Alder", "Alder", "Age"],
            Fact::PersonAddress => ["Adresse", "Adresse", "Address"],
            Fact::PersonBostedKommune => ["Bostedskommune", "Bustadkommune", "Municipality of residence"],
            Fact::PersonLivesHere => ["Bor i kommunen", "Bur i kommunen", "Lives in the municipality"],
            Fact::PersonChildren => ["Barn", "Barn", "Children"],
            Fact::PersonEmail => ["E-post", "E-post", "E-mail"],
            Fact::PersonMobile => ["Mobil", "Mobil", "Mobile"],
            Fact::ChildName => ["Barnets navn", "Namnet til barnet", "The child's name"],
            Fact::ChildBirthDate => ["Barnets fødselsdato", "Fødselsdatoen til barnet", "The child's date of birth"],
            Fact::ChildAgeYears => ["Barnets alder (år)", "Alderen til barnet (år)", "The child's age (years)"],
            Fact::ChildAgeMonths => {
                ["Barnets alder (måneder)", "Alderen til barnet (månader)", "The child's age (months)"]
            }
            Fact::ChildLivesHere => {
                ["Barnet bor i kommunen", "Barnet bur i kommunen", "The child lives in the municipality"]
            }
            Fact::WardName => ["Navn", "Namn", "Name"],
            Fact::WardAge => ["Alder", "Alder", "Age"],
            Fact::WardLivesHere => ["Bor i kommunen", "Bur i kommunen", "Lives in the municipality"],
            Fact::OrganisationName => ["Virksomhet", "Verksemd", "Organisation"],
            Fact::OrganisationForm => ["Organisasjonsform", "Organisasjonsform", "Legal form"],
            Fact::OrganisationAddress => ["Forretningsadresse", "Forretningsadresse", "Business address"],
            Fact::OrganisationIndustryCode => ["Næringskode", "Næringskode", "Industry code"],
            Fact::OrganisationBankrupt => ["Konkurs", "Konkurs", "Bankrupt"],
            Fact::OrganisationDeleted => ["Slettet", "Sletta", "Deleted"],
            Fact::OrganisationRole => ["Din rolle", "Rolla di", "Your role"],
        };
        match language {
            kernel::Language::Bokmal => nb,
            kernel::Language::Nynorsk => nn,
            kernel::Language::English => en,
        }
    }

    /// The fact named `name`.
    pub fn from_name(name: &str) -> Option<Fact> {
        Fact::ALL.into_iter().find(|fact| fact.name() == name)
    }

    /// The register it comes from.
    pub fn source(self) -> Source {
        match self {
            Fact::PersonEmail | Fact::PersonMobile => Source::Krr,
            Fact::OrganisationName
            | Fact::OrganisationForm
            | Fact::OrganisationAddress
            | Fact::OrganisationIndustryCode
            | Fact::OrganisationBankrupt
            | Fact::OrganisationDeleted
            | Fact::OrganisationRole => Source::Enhetsregisteret,
            _ => Source::Folkeregisteret,
        }
    }

    /// The kind of applicant the fact needs: `child.*` needs one acting for a child, and so on.
    pub fn needs(self) -> Option<Applicant> {
        match self.name().split_once('.').map(|(subject, _)| subject) {
            Some("child") => Some(Applicant::Child),
            Some("ward") => Some(Applicant::Ward),
            Some("organisation") => Some(Applicant::Organisation),
            _ => None,
        }
    }

    /// Whether a service open to `applicants` can have this fact.
    pub fn allowed_for(self, applicants: &[Applicant]) -> bool {
        self.needs().is_none_or(|needed| applicants.contains(&needed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_has_one_name_that_serde_agrees_with() {
        for fact in Fact::ALL {
            assert_eq!(Fact::from_name(fact.name()), Some(fact));
            let json = serde_json::to_string(&fact).expect("json");
            assert_eq!(json, format!("\"{}\"", fact.name()));
        }
    }
}
