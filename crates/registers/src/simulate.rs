//! Moves the local registers forward in time: births, deaths, moves within, into and out of the
//! municipality, and new businesses, at about the rates Statistics Norway reports. Every change
//! goes through [`LocalRegisters::record_changes`], so the change feed gets one event for each.

use kernel::{Fnr, Kommunenummer, OrgNr};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use store::params;
use time::{Date, Duration};

use crate::local::{date_text, parse_date};
use crate::model::{
    Address, FamilyRelation, Name, Organisation, OrganisationRole, Person, PersonStatus, RelationRole, Residence,
    ResidencePeriod, Sex,
};
use crate::synthetic::POPULATION_DATE;
use crate::{LocalRegisters, RegisterError};

/// Events per resident per year (Statistics Norway, rounded).
const BIRTHS_PER_YEAR: f64 = 0.010;
const DEATHS_PER_YEAR: f64 = 0.008;
const MOVES_WITHIN_PER_YEAR: f64 = 0.05;
const MOVES_IN_PER_YEAR: f64 = 0.04;
const MOVES_OUT_PER_YEAR: f64 = 0.04;
const NEW_BUSINESSES_PER_YEAR: f64 = 0.012;

/// The CloudEvent types of the change feed.
pub mod event_types {
    /// A child was born.
    pub const BORN: &str = "no.allmenning.folkeregister.person.born.v1";
    /// A person died.
    pub const DIED: &str = "no.allmenning.folkeregister.person.died.v1";
    /// A person got a new address in the same municipality.
    pub const MOVED: &str = "no.allmenning.folkeregister.person.moved.v1";
    /// A person moved into the municipality.
    pub const MOVED_IN: &str = "no.allmenning.folkeregister.person.moved-in.v1";
    /// A person moved out of the municipality.
    pub const MOVED_OUT: &str = "no.allmenning.folkeregister.person.moved-out.v1";
    /// A new organisation was registered.
    pub const ORGANISATION_REGISTERED: &str = "no.allmenning.enhetsregisteret.organisation.registered.v1";
}

/// What a simulation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimulationReport {
    /// Births.
    pub births: u32,
    /// Deaths.
    pub deaths: u32,
    /// Moves within the municipality.
    pub moves_within: u32,
    /// Moves into the municipality.
    pub moves_in: u32,
    /// Moves out of the municipality.
    pub moves_out: u32,
    /// New businesses.
    pub new_businesses: u32,
    /// The registers' date afterwards.
    pub today: Option<Date>,
}

#[derive(serde::Deserialize)]
struct FnrRow {
    fnr: String,
}

#[derive(serde::Deserialize)]
struct KommuneRow {
    bosted_kommune: String,
}

#[derive(serde::Deserialize)]
struct TodayRow {
    today: String,
}

#[derive(serde::Deserialize)]
struct CountRow {
    n: i64,
}

/// How many events of a kind happen in one day among `residents`, drawn so the expected value
/// matches the yearly rate.
fn daily_events(rng: &mut StdRng, residents: i64, per_year: f64) -> u32 {
    let expected = residents as f64 * per_year / 365.0;
    let whole = expected.floor();
    let extra = if rng.random_bool((expected - whole).clamp(0.0, 1.0)) { 1.0 } else { 0.0 };
    (whole + extra) as u32
}

impl LocalRegisters {
    /// The registers' current date.
    pub async fn today(&self) -> Result<Date, RegisterError> {
        let row = self.db().fetch_optional::<TodayRow>("SELECT today FROM register_clock WHERE id = 1", &[]).await?;
        row.map_or(Ok(POPULATION_DATE), |r| parse_date(&r.today))
    }

    async fn set_today(&self, day: Date) -> Result<(), RegisterError> {
        self.db()
            .execute(
                "INSERT INTO register_clock (id, today) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET today = $1",
                &params![date_text(day)],
            )
            .await?;
        Ok(())
    }

    /// A random living resident of `kommune` matching `extra` (an SQL condition on `persons`
    /// with no parameters), or `None` if there is none.
    async fn random_resident(
        &self,
        rng: &mut StdRng,
        kommune: Kommunenummer,
        extra: &str,
    ) -> Result<Option<Person>, RegisterError> {
        let condition = format!("bosted_kommune = $1 AND status IN ('bosatt', 'midlertidig') AND {extra}");
        let count = self
            .db()
            .fetch_optional::<CountRow>(
                &format!("SELECT COUNT(*) AS n FROM persons WHERE {condition}"),
                &params![kommune],
            )
            .await?
            .map_or(0, |r| r.n);
        if count == 0 {
            return Ok(None);
        }
        let offset = rng.random_range(0..count);
        let row = self
            .db()
            .fetch_optional::<FnrRow>(
                &format!("SELECT fnr FROM persons WHERE {condition} ORDER BY fnr LIMIT 1 OFFSET $2"),
                &params![kommune, offset],
            )
            .await?;
        match row {
            Some(row) => self.person(&Fnr::parse(&row.fnr).map_err(|e| RegisterError::Malformed(e.to_string()))?).await,
            None => Ok(None),
        }
    }

    async fn number_is_free(&self, candidate: &Fnr) -> Result<bool, RegisterError> {
        Ok(self
            .db()
            .fetch_optional::<FnrRow>("SELECT fnr FROM persons WHERE fnr = $1", &params![candidate.as_digits()])
            .await?
            .is_none())
    }

    async fn new_number(&self, rng: &mut StdRng, birth: Date) -> Result<Fnr, RegisterError> {
        loop {
            if let Some(candidate) = Fnr::synthetic(birth, rng.random_range(0..1000))
                && self.number_is_free(&candidate).await?
            {
                return Ok(candidate);
            }
        }
    }

    /// Runs `days` days of register events for every municipality with residents.
    pub async fn simulate(&self, days: u32, seed: u64) -> Result<SimulationReport, RegisterError> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut report = SimulationReport::default();
        let kommuner = self
            .db()
            .fetch_all::<KommuneRow>(
                "SELECT DISTINCT bosted_kommune FROM persons WHERE bosted_kommune IS NOT NULL ORDER BY bosted_kommune",
                &[],
            )
            .await?;
        let kommuner: Vec<Kommunenummer> =
            kommuner.iter().filter_map(|row| Kommunenummer::parse(&row.bosted_kommune).ok()).collect();
        let mut today = self.today().await?;
        for _ in 0..days {
            today += Duration::days(1);
            for kommune in &kommuner {
                self.simulate_day(&mut rng, *kommune, today, &mut report).await?;
            }
            self.set_today(today).await?;
        }
        report.today = Some(today);
        Ok(report)
    }

    async fn simulate_day(
        &self,
        rng: &mut StdRng,
        kommune: Kommunenummer,
        today: Date,
        report: &mut SimulationReport,
    ) -> Result<(), RegisterError> {
        let residents = self.resident_count(kommune).await?;
        for _ in 0..daily_events(rng, residents, BIRTHS_PER_YEAR) {
            if self.birth(rng, kommune, today).await? {
                report.births += 1;
            }
        }
        for _ in 0..daily_events(rng, residents, DEATHS_PER_YEAR) {
            // Most deaths are of old people.
            let condition = if rng.random_bool(0.85) { "birth_date < '1956-01-01'" } else { "1 = 1" };
            if let Some(mut person) = self.random_resident(rng, kommune, condition).await? {
                person.status = PersonStatus::Doed;
                person.death_date = Some(today);
                let data = serde_json::json!({ "fnr": person.fnr.as_digits(), "date": date_text(today) });
                self.record_change(&person, event_types::DIED, data).await?;
                report.deaths += 1;
            }
        }
        for _ in 0..daily_events(rng, residents, MOVES_WITHIN_PER_YEAR) {
            if let Some(mut person) = self.random_resident(rng, kommune, "adressebeskyttelse = 'ugradert'").await? {
                let address = new_address(rng, kommune);
                move_to(&mut person, Residence::Open(address), today);
                let data = serde_json::json!({ "fnr": person.fnr.as_digits(), "date": date_text(today) });
                self.record_change(&person, event_types::MOVED, data).await?;
                report.moves_within += 1;
            }
        }
        for _ in 0..daily_events(rng, residents, MOVES_OUT_PER_YEAR) {
            if let Some(mut person) = self.random_resident(rng, kommune, "adressebeskyttelse = 'ugradert'").await? {
                let oslo = Kommunenummer::parse("0301").map_err(|e| RegisterError::Malformed(e.to_string()))?;
                let destination = if kommune == oslo {
                    Kommunenummer::parse("4601").map_err(|e| RegisterError::Malformed(e.to_string()))?
                } else {
                    oslo
                };
                let address = new_address(rng, destination);
                move_to(&mut person, Residence::Open(address), today);
                person.bosted_kommune = Some(destination);
                let data =
                    serde_json::json!({ "fnr": person.fnr.as_digits(), "date": date_text(today), "to": destination });
                self.record_change(&person, event_types::MOVED_OUT, data).await?;
                report.moves_out += 1;
            }
        }
        for _ in 0..daily_events(rng, residents, MOVES_IN_PER_YEAR) {
            self.move_in(rng, kommune, today).await?;
            report.moves_in += 1;
        }
        for _ in 0..daily_events(rng, residents, NEW_BUSINESSES_PER_YEAR) {
            if self.new_business(rng, kommune, today).await? {
                report.new_businesses += 1;
            }
        }
        Ok(())
    }

    async fn birth(&self, rng: &mut StdRng, kommune: Kommunenummer, today: Date) -> Result<bool, RegisterError> {
        let youngest = date_text(today - Duration::days(45 * 365));
        let oldest = date_text(today - Duration::days(20 * 365));
        let condition = format!("sex = 'female' AND birth_date > '{youngest}' AND birth_date < '{oldest}'");
        let Some(mut mother) = self.random_resident(rng, kommune, &condition).await? else { return Ok(false) };
        let fnr = self.new_number(rng, today).await?;
        let sex = if rng.random_bool(0.5) { Sex::Female } else { Sex::Male };
        let mut child = Person {
            fnr,
            name: Name {
                given: if sex == Sex::Female { "Nora" } else { "Jakob" }.to_owned(),
                middle: None,
                family: mother.name.family.clone(),
            },
            birth_date: today,
            birth_kommune: Some(kommune),
            birth_country: "NOR".to_owned(),
            sex,
            status: PersonStatus::Bosatt,
            bosted_kommune: Some(kommune),
            residences: vec![ResidencePeriod { residence: mother.current_residence().clone(), from: today, to: None }],
            relations: vec![FamilyRelation { related: mother.fnr, role: RelationRole::Mor }],
            parental_responsibility_for: Vec::new(),
            citizenships: mother.citizenships.clone(),
            death_date: None,
            guardian: None,
            adressebeskyttelse: mother.adressebeskyttelse,
        };
        mother.relations.push(FamilyRelation { related: fnr, role: RelationRole::Barn });
        mother.relations.sort_by_key(|r| r.related);
        mother.parental_responsibility_for.push(fnr);
        mother.parental_responsibility_for.sort();
        let mut changed = vec![mother.clone()];
        if let Some(partner) = mother.relations.iter().find(|r| r.role == RelationRole::Ektefelle).map(|r| r.related)
            && let Some(mut father) = self.person(&partner).await?
        {
            let role = if father.sex == Sex::Female { RelationRole::Medmor } else { RelationRole::Far };
            child.relations.push(FamilyRelation { related: father.fnr, role });
            father.relations.push(FamilyRelation { related: fnr, role: RelationRole::Barn });
            father.relations.sort_by_key(|r| r.related);
            father.parental_responsibility_for.push(fnr);
            father.parental_responsibility_for.sort();
            changed.push(father);
        }
        child.relations.sort_by_key(|r| r.related);
        changed.insert(0, child);
        let data =
            serde_json::json!({ "fnr": fnr.as_digits(), "date": date_text(today), "mother": mother.fnr.as_digits() });
        self.record_changes(&changed, event_types::BORN, data).await?;
        Ok(true)
    }

    async fn move_in(&self, rng: &mut StdRng, kommune: Kommunenummer, today: Date) -> Result<(), RegisterError> {
        let age_days = rng.random_range(20 * 365..45 * 365);
        let birth = today - Duration::days(age_days);
        let fnr = self.new_number(rng, birth).await?;
        let sex = if rng.random_bool(0.5) { Sex::Female } else { Sex::Male };
        let given = if sex == Sex::Female { "Ida" } else { "Magnus" };
        let family = ["Hansen", "Berg", "Lie", "Moen", "Nguyen", "Strand"][rng.random_range(0..6)];
        let oslo = Address::Vegadresse {
            kommunenummer: "0301".into(),
            adressenavn: "Markveien".into(),
            husnummer: rng.random_range(1..80),
            husbokstav: None,
            postnummer: "0554".into(),
            poststed: "OSLO".into(),
        };
        let mut person = Person {
            fnr,
            name: Name { given: given.to_owned(), middle: None, family: family.to_owned() },
            birth_date: birth,
            birth_kommune: Kommunenummer::parse("0301").ok(),
            birth_country: "NOR".to_owned(),
            sex,
            status: PersonStatus::Bosatt,
            bosted_kommune: Some(kommune),
            residences: vec![ResidencePeriod { residence: Residence::Open(oslo), from: birth, to: None }],
            relations: Vec::new(),
            parental_responsibility_for: Vec::new(),
            citizenships: vec!["NOR".to_owned()],
            death_date: None,
            guardian: None,
            adressebeskyttelse: crate::model::Adressebeskyttelse::Ugradert,
        };
        let address = new_address(rng, kommune);
        move_to(&mut person, Residence::Open(address), today);
        let data = serde_json::json!({ "fnr": fnr.as_digits(), "date": date_text(today), "from": "0301" });
        self.record_change(&person, event_types::MOVED_IN, data).await?;
        Ok(())
    }

    async fn new_business(&self, rng: &mut StdRng, kommune: Kommunenummer, today: Date) -> Result<bool, RegisterError> {
        let oldest = date_text(today - Duration::days(20 * 365));
        let Some(leader) = self.random_resident(rng, kommune, &format!("birth_date < '{oldest}'")).await? else {
            return Ok(false);
        };
        let orgnr = loop {
            let mut digits = [9, 2, 0, 0, 0, 0, 0, 0];
            for digit in digits.iter_mut().skip(2) {
                *digit = rng.random_range(0..10);
            }
            if let Some(orgnr) = OrgNr::from_first_eight(digits)
                && self.organisation(&orgnr).await?.is_none()
            {
                break orgnr;
            }
        };
        let address = new_address(rng, kommune);
        let organisation = Organisation {
            orgnr,
            name: format!("{} Konsulent", leader.name.family),
            form: "ENK".to_owned(),
            business_address: Some(address.clone()),
            postal_address: Some(address),
            kommune: Some(kommune),
            industry_code: Some("70.220".to_owned()),
            employees: 0,
            founded: Some(today),
            deleted: None,
            bankrupt: false,
            roles: vec![(OrganisationRole::DagligLeder, leader.fnr)],
            parent: None,
        };
        self.record_new_organisation(&organisation).await?;
        Ok(true)
    }
}

/// Closes the current address and starts a new one from `day`.
fn move_to(person: &mut Person, residence: Residence, day: Date) {
    for period in &mut person.residences {
        if period.to.is_none() {
            period.to = Some(day);
        }
    }
    person.residences.insert(0, ResidencePeriod { residence, from: day, to: None });
}

/// A new street address in `kommune`, with the municipality's made-up postnummer (the same rule
/// as the generator's).
fn new_address(rng: &mut StdRng, kommune: Kommunenummer) -> Address {
    let streets = ["Nyveien", "Solbakken", "Skolegata", "Fjordveien", "Parkveien", "Granveien"];
    let digits: u32 = kommune.as_str().parse().unwrap_or(1000);
    Address::Vegadresse {
        kommunenummer: kommune.to_string(),
        adressenavn: streets[rng.random_range(0..streets.len())].to_owned(),
        husnummer: rng.random_range(1..150),
        husbokstav: None,
        postnummer: format!("{:04}", (digits * 7) % 9000 + 1000),
        poststed: kommune.navn().to_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_events_match_the_yearly_rate_on_average() {
        let mut rng = StdRng::seed_from_u64(1);
        let total: u32 = (0..3650).map(|_| daily_events(&mut rng, 10_000, 0.01)).sum();
        // 10,000 residents × 1 % × 10 years = 1,000 events.
        assert!((850..=1150).contains(&total), "{total}");
    }
}
