//! A synthetic municipality: a believable population with households, families, businesses,
//! voluntary organisations, properties and KRR entries, deterministic for a given seed, and not
//! a single real person's data — every fødselsnummer is synthetic (month + 80), names are drawn
//! from common-name lists, and postnumre are made up.
//!
//! The population is generated as of [`POPULATION_DATE`], a fixed day, so that the same seed
//! gives the same numbers and the demo personas keep their identities from run to run.

use std::collections::HashSet;

use kernel::{Fnr, Kommunenummer, Language, Matrikkelnummer, OrgNr};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::macros::date;
use time::{Date, Duration};

use crate::model::{
    Address, Adressebeskyttelse, Building, Contact, ContactStatus, FamilyRelation, MailboxProvider, Name, Organisation,
    OrganisationRole, Owner, Person, PersonStatus, Property, ProtectedAddress, RelationRole, Residence,
    ResidencePeriod, Sex,
};

/// The day the synthetic population describes.
pub const POPULATION_DATE: Date = date!(2026 - 11 - 01);

/// Norway's population by five-year age band (0–4, 5–9, ..., 90+), in per mille, rounded from
/// Statistics Norway's 2024 figures.
const AGE_BANDS_PER_MILLE: [u32; 19] = [52, 57, 60, 59, 61, 66, 68, 67, 64, 65, 66, 63, 57, 52, 47, 39, 24, 14, 9];

const FEMALE_NAMES: [&str; 40] = [
    "Nora", "Emma", "Olivia", "Ella", "Sofie", "Ingrid", "Sara", "Maja", "Leah", "Frida", "Anne", "Inger", "Kari",
    "Marit", "Ingrid", "Liv", "Eva", "Berit", "Astrid", "Bjørg", "Hilde", "Anna", "Solveig", "Marianne", "Randi",
    "Ida", "Nina", "Camilla", "Silje", "Tone", "Hanne", "Ellen", "Elin", "Heidi", "Kristin", "Linda", "Julie", "Thea",
    "Amalie", "Tuva",
];
const MALE_NAMES: [&str; 40] = [
    "Jakob", "Emil", "Noah", "Oliver", "Filip", "William", "Lucas", "Liam", "Henrik", "Oskar", "Jan", "Per", "Bjørn",
    "Ole", "Lars", "Kjell", "Knut", "Arne", "Svein", "Thomas", "Hans", "Geir", "Tor", "Morten", "Terje", "Odd", "Erik",
    "Martin", "Andreas", "John", "Anders", "Rune", "Trond", "Jonas", "Magnus", "Sander", "Aksel", "Isak", "Johannes",
    "Mathias",
];
const FAMILY_NAMES: [&str; 50] = [
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Johannessen",
    "Andreassen",
    "Jacobsen",
    "Dahl",
    "Jørgensen",
    "Halvorsen",
    "Henriksen",
    "Lund",
    "Sørensen",
    "Jakobsen",
    "Moen",
    "Gundersen",
    "Iversen",
    "Strand",
    "Solberg",
    "Svendsen",
    "Eide",
    "Knutsen",
    "Martinsen",
    "Paulsen",
    "Bakken",
    "Kristoffersen",
    "Mathisen",
    "Lie",
    "Amundsen",
    "Nguyen",
    "Rasmussen",
    "Ali",
    "Lunde",
    "Solheim",
    "Berge",
    "Moe",
    "Nygård",
    "Bakke",
];
/// Names for residents new in Norway, with their citizenship.
const NEWCOMERS: [(&str, &str, &str, &str); 8] = [
    ("Oksana", "Kovalenko", "UKR", "female"),
    ("Andrii", "Shevchenko", "UKR", "male"),
    ("Agnieszka", "Nowak", "POL", "female"),
    ("Piotr", "Kowalski", "POL", "male"),
    ("Rasa", "Kazlauskienė", "LTU", "female"),
    ("Tomas", "Kazlauskas", "LTU", "male"),
    ("Amal", "Haddad", "SYR", "female"),
    ("Yusuf", "Haddad", "SYR", "male"),
];
const STREETS: [&str; 30] = [
    "Storgata",
    "Kirkegata",
    "Skolegata",
    "Parkveien",
    "Fjordveien",
    "Solbakken",
    "Bjørkeveien",
    "Granveien",
    "Løkkeveien",
    "Strandgata",
    "Torget",
    "Elveveien",
    "Åsveien",
    "Fjellveien",
    "Havnegata",
    "Nyveien",
    "Stasjonsveien",
    "Bakkeveien",
    "Lindeveien",
    "Furuveien",
    "Rosenborggata",
    "Kongens gate",
    "Dronningens gate",
    "Industriveien",
    "Hagebyveien",
    "Sjøgata",
    "Moloveien",
    "Brugata",
    "Postveien",
    "Gamleveien",
];
const BUSINESS_WORDS: [(&str, &str, &str); 10] = [
    ("Snekkerverksted", "AS", "43.320"),
    ("Regnskap", "AS", "69.201"),
    ("Bakeri", "AS", "10.710"),
    ("Rørlegger", "AS", "43.221"),
    ("Frisør", "ENK", "96.021"),
    ("Transport", "AS", "49.410"),
    ("Konsulent", "ENK", "70.220"),
    ("Elektro", "AS", "43.210"),
    ("Data", "AS", "62.010"),
    ("Gartneri", "ENK", "01.300"),
];
const VOLUNTARY: [&str; 8] =
    ["Idrettslag", "Skolekorps", "Historielag", "Sanitetsforening", "Velforening", "Sjakklubb", "Turlag", "Kor"];

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopulationSpec {
    /// The municipality.
    pub kommunenummer: Kommunenummer,
    /// About how many residents (households are whole, so the count may be a few over).
    pub residents: u32,
    /// The random seed; the same seed gives the same population.
    pub seed: u64,
}

/// A generated municipality.
#[derive(Debug, Clone, Default)]
pub struct Population {
    /// Residents, plus the few non-residents the personas need (a deceased spouse).
    pub persons: Vec<Person>,
    /// Businesses and voluntary organisations.
    pub organisations: Vec<Organisation>,
    /// Homes.
    pub properties: Vec<Property>,
    /// KRR entries.
    pub contacts: Vec<Contact>,
}

/// The named personas every demo and test can rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    /// Ingrid Solberg, whose daughter Emma was born three weeks before the population date.
    ParentOfNewborn,
    /// Sofie Lunde, who moved in from another municipality two weeks before.
    JustMovedIn,
    /// Arne Bakken, 79, reserved against digital post.
    ReservedAgainstDigitalPost,
    /// Maria Berg, with a strengt fortrolig address.
    StrengtFortrolig,
    /// Lars Haugen, daglig leder and styreleder of Haugen Snekkerverksted AS, founded last month.
    DagligLederOfNewBusiness,
    /// Oksana Kovalenko, a d-nummer resident who came from Ukraine this year.
    NewInNorway,
    /// Per Olsen, whose wife Randi died five days before.
    NextOfKinOfDeceased,
}

impl Persona {
    /// Every persona.
    pub const ALL: [Persona; 7] = [
        Persona::ParentOfNewborn,
        Persona::JustMovedIn,
        Persona::ReservedAgainstDigitalPost,
        Persona::StrengtFortrolig,
        Persona::DagligLederOfNewBusiness,
        Persona::NewInNorway,
        Persona::NextOfKinOfDeceased,
    ];

    /// Birth date and the individual number to start from; the persona's number is the first
    /// valid synthetic number from there.
    fn birth(self) -> (Date, u16, bool) {
        match self {
            Persona::ParentOfNewborn => (date!(1992 - 03 - 14), 210, false),
            Persona::JustMovedIn => (date!(1998 - 08 - 02), 310, false),
            Persona::ReservedAgainstDigitalPost => (date!(1947 - 05 - 09), 120, false),
            Persona::StrengtFortrolig => (date!(1988 - 11 - 23), 410, false),
            Persona::DagligLederOfNewBusiness => (date!(1985 - 01 - 30), 160, false),
            Persona::NewInNorway => (date!(1990 - 06 - 12), 260, true),
            Persona::NextOfKinOfDeceased => (date!(1951 - 02 - 17), 330, false),
        }
    }

    /// The persona's fødselsnummer (or d-nummer). Always the same.
    pub fn fnr(self) -> Fnr {
        let (birth, start, d_nummer) = self.birth();
        first_valid(birth, start, d_nummer)
    }

    /// The persona's name.
    pub fn name(self) -> &'static str {
        match self {
            Persona::ParentOfNewborn => "Ingrid Solberg",
            Persona::JustMovedIn => "Sofie Lunde",
            Persona::ReservedAgainstDigitalPost => "Arne Bakken",
            Persona::StrengtFortrolig => "Maria Berg",
            Persona::DagligLederOfNewBusiness => "Lars Haugen",
            Persona::NewInNorway => "Oksana Kovalenko",
            Persona::NextOfKinOfDeceased => "Per Olsen",
        }
    }
}

/// The first valid synthetic number for `birth` from individual number `start` on, within the
/// birth year's century range. Every century range has hundreds of candidates, of which about
/// one in eleven squared fails, so one is always found.
fn first_valid(birth: Date, start: u16, d_nummer: bool) -> Fnr {
    let make = |individual| {
        if d_nummer { Fnr::synthetic_d_nummer(birth, individual) } else { Fnr::synthetic(birth, individual) }
    };
    (start..1000).chain(0..start).find_map(make).unwrap_or_else(|| unreachable_fnr(birth))
}

#[cold]
fn unreachable_fnr(birth: Date) -> Fnr {
    // Only reachable for a birth year outside 1854–2039, which the generator never asks for.
    panic!("no synthetic number exists for {birth}")
}

struct Generator {
    spec: PopulationSpec,
    rng: StdRng,
    used_fnr: HashSet<Fnr>,
    used_orgnr: HashSet<OrgNr>,
    next_gnr: u32,
    /// Leave out businesses, voluntary organisations and homes (for a country-scale load of
    /// persons and KRR entries only).
    persons_only: bool,
    population: Population,
}

fn months_before(day: Date, months: i64) -> Date {
    day - Duration::days(months * 30)
}

impl Generator {
    fn new(spec: PopulationSpec) -> Self {
        let mut used_fnr = HashSet::new();
        for persona in Persona::ALL {
            used_fnr.insert(persona.fnr());
        }
        Self {
            rng: StdRng::seed_from_u64(spec.seed),
            spec,
            used_fnr,
            used_orgnr: HashSet::new(),
            next_gnr: 1,
            persons_only: false,
            population: Population::default(),
        }
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.rng.random_range(0..items.len())]
    }

    /// An age drawn from the national age pyramid, within `min..=max`.
    fn age_between(&mut self, min: u32, max: u32) -> u32 {
        loop {
            let total: u32 = AGE_BANDS_PER_MILLE.iter().sum();
            let mut roll = self.rng.random_range(0..total);
            let mut band = 0;
            for (index, weight) in AGE_BANDS_PER_MILLE.iter().enumerate() {
                if roll < *weight {
                    band = index;
                    break;
                }
                roll -= weight;
            }
            let span = if band == 18 { 10 } else { 5 };
            let age = u32::try_from(band).unwrap_or(0) * 5 + self.rng.random_range(0..span);
            if (min..=max).contains(&age) {
                return age;
            }
        }
    }

    fn birth_date_for_age(&mut self, age: u32) -> Date {
        let days_into_year = self.rng.random_range(0..365);
        POPULATION_DATE - Duration::days(i64::from(age) * 365 + i64::from(age / 4) + days_into_year)
    }

    fn new_fnr(&mut self, birth: Date, d_nummer: bool) -> Fnr {
        loop {
            let individual = self.rng.random_range(0..1000);
            let made =
                if d_nummer { Fnr::synthetic_d_nummer(birth, individual) } else { Fnr::synthetic(birth, individual) };
            if let Some(fnr) = made
                && self.used_fnr.insert(fnr)
            {
                return fnr;
            }
        }
    }

    fn postnummer(&self) -> (String, String) {
        // Made-up but stable: one postnummer per municipality, derived from its number.
        let digits: u32 = self.spec.kommunenummer.as_str().parse().unwrap_or(1000);
        let postnummer = format!("{:04}", (digits * 7) % 9000 + 1000);
        (postnummer, self.spec.kommunenummer.navn().to_uppercase())
    }

    fn new_address(&mut self) -> Address {
        let (postnummer, poststed) = self.postnummer();
        let street = self.pick(&STREETS).to_owned();
        let letter = if self.rng.random_bool(0.1) { Some("B".to_owned()) } else { None };
        Address::Vegadresse {
            kommunenummer: self.spec.kommunenummer.to_string(),
            adressenavn: street,
            husnummer: self.rng.random_range(1..120),
            husbokstav: letter,
            postnummer,
            poststed,
        }
    }

    fn person(&mut self, name: Name, sex: Sex, birth: Date, fnr: Fnr, address: &Address, moved_in: Date) -> Person {
        let protection =
            if self.rng.random_bool(0.002) { Adressebeskyttelse::Fortrolig } else { Adressebeskyttelse::Ugradert };
        let residence = if protection.is_protected() {
            Residence::Protected(ProtectedAddress::new(address.clone(), protection))
        } else {
            Residence::Open(address.clone())
        };
        Person {
            fnr,
            name,
            birth_date: birth,
            birth_kommune: Some(self.spec.kommunenummer),
            birth_country: "NOR".to_owned(),
            sex,
            status: PersonStatus::Bosatt,
            bosted_kommune: Some(self.spec.kommunenummer),
            residences: vec![ResidencePeriod { residence, from: moved_in.max(birth), to: None }],
            relations: Vec::new(),
            parental_responsibility_for: Vec::new(),
            citizenships: vec!["NOR".to_owned()],
            death_date: None,
            guardian: None,
            adressebeskyttelse: protection,
        }
    }

    fn random_person(&mut self, age: u32, family: &str, address: &Address, moved_in: Date) -> Person {
        let sex = if self.rng.random_bool(0.5) { Sex::Female } else { Sex::Male };
        let given = self.pick(if sex == Sex::Female { &FEMALE_NAMES } else { &MALE_NAMES }).to_owned();
        let birth = self.birth_date_for_age(age);
        let fnr = self.new_fnr(birth, false);
        self.person(Name { given, middle: None, family: family.to_owned() }, sex, birth, fnr, address, moved_in)
    }

    fn home(&mut self, address: &Address, owners: Vec<(Owner, u32, u32)>) {
        if self.persons_only {
            return;
        }
        let gnr = self.next_gnr;
        self.next_gnr += 1;
        let matrikkelnummer = Matrikkelnummer {
            kommunenummer: self.spec.kommunenummer,
            gardsnummer: 1 + gnr / 200,
            bruksnummer: u16::try_from(1 + gnr % 200).unwrap_or(1),
            festenummer: 0,
            seksjonsnummer: 0,
        };
        let detached = self.rng.random_bool(0.5);
        let building = Building {
            number: 100_000_000 + u64::from(gnr),
            building_type: if detached { "111" } else { "142" }.to_owned(),
            area_m2: if detached { self.rng.random_range(90..260) } else { self.rng.random_range(35..140) },
        };
        self.population.properties.push(Property {
            matrikkelnummer,
            addresses: vec![address.clone()],
            owners,
            buildings: vec![building],
        });
    }

    fn link_family(persons: &mut [Person], parents: &[usize], children: &[usize], couple: bool) {
        for &parent in parents {
            for &child in children {
                let child_fnr = persons[child].fnr;
                let parent_fnr = persons[parent].fnr;
                let parent_role =
                    if persons[parent].sex == Sex::Female { RelationRole::Mor } else { RelationRole::Far };
                persons[parent].relations.push(FamilyRelation { related: child_fnr, role: RelationRole::Barn });
                persons[parent].parental_responsibility_for.push(child_fnr);
                persons[child].relations.push(FamilyRelation { related: parent_fnr, role: parent_role });
            }
        }
        if couple && parents.len() == 2 {
            let (a, b) = (persons[parents[0]].fnr, persons[parents[1]].fnr);
            persons[parents[0]].relations.push(FamilyRelation { related: b, role: RelationRole::Ektefelle });
            persons[parents[1]].relations.push(FamilyRelation { related: a, role: RelationRole::Ektefelle });
        }
    }

    /// One household: its people, their home, their relations.
    fn household(&mut self) {
        let address = self.new_address();
        let family = self.pick(&FAMILY_NAMES).to_owned();
        let moved_in = months_before(POPULATION_DATE, self.rng.random_range(1..240));
        let roll: f64 = self.rng.random();
        let mut members = Vec::new();
        // Household shares roughly as in Statistics Norway's household statistics: many live
        // alone, and families have one to three children, most often two.
        let family_size = 1 + usize::from(self.rng.random_bool(0.55)) + usize::from(self.rng.random_bool(0.15));
        let (adults, children, couple) = if roll < 0.40 {
            (1, 0, false)
        } else if roll < 0.72 {
            (2, 0, true)
        } else if roll < 0.92 {
            (2, family_size, true)
        } else {
            (1, family_size.min(2), false)
        };
        // Parents are of parenting age; couples without children at home are often past it, and
        // many who live alone are old.
        let head_age = if children > 0 {
            self.age_between(25, 55)
        } else if couple && self.rng.random_bool(0.6) {
            self.age_between(50, 99)
        } else if !couple && self.rng.random_bool(0.3) {
            self.age_between(67, 99)
        } else {
            self.age_between(18, 99)
        };
        members.push(self.random_person(head_age, &family, &address, moved_in));
        if adults == 2 {
            let partner_age = (head_age + self.rng.random_range(0..6)).saturating_sub(3).max(18);
            let mut partner = self.random_person(partner_age, &family, &address, moved_in);
            // Keep the household's protection level the same for everyone living there.
            partner.adressebeskyttelse = members[0].adressebeskyttelse;
            partner.residences = members[0].residences.clone();
            members.push(partner);
        }
        for _ in 0..children {
            let max_age = head_age.saturating_sub(20).min(17);
            let age = self.rng.random_range(0..=max_age);
            let mut child = self.random_person(age, &family, &address, moved_in);
            child.adressebeskyttelse = members[0].adressebeskyttelse;
            child.residences = vec![ResidencePeriod {
                residence: members[0].residences[0].residence.clone(),
                from: moved_in.max(child.birth_date),
                to: None,
            }];
            members.push(child);
        }
        let parents: Vec<usize> = (0..adults).collect();
        let kids: Vec<usize> = (adults..members.len()).collect();
        Self::link_family(&mut members, &parents, &kids, couple);
        let owners = if self.rng.random_bool(0.75) {
            let share = u32::try_from(adults).unwrap_or(1);
            parents.iter().map(|&p| (Owner::Person(members[p].fnr), 1, share)).collect()
        } else {
            Vec::new()
        };
        self.home(&address, owners);
        self.population.persons.extend(members);
    }

    fn new_orgnr(&mut self) -> OrgNr {
        loop {
            let mut digits = [9, 0, 0, 0, 0, 0, 0, 0];
            for digit in digits.iter_mut().skip(1) {
                *digit = self.rng.random_range(0..10);
            }
            if let Some(orgnr) = OrgNr::from_first_eight(digits)
                && self.used_orgnr.insert(orgnr)
            {
                return orgnr;
            }
        }
    }

    fn organisations(&mut self) {
        let adults: Vec<Fnr> = self
            .population
            .persons
            .iter()
            .filter(|p| p.age_on(POPULATION_DATE) >= 20 && p.age_on(POPULATION_DATE) < 70)
            .map(|p| p.fnr)
            .collect();
        if adults.is_empty() {
            return;
        }
        // One business per twelve residents and one voluntary organisation per 150, counted on
        // the persons of this batch.
        let residents = u32::try_from(self.population.persons.len()).unwrap_or(u32::MAX);
        let businesses = (residents / 12).max(1);
        let voluntary = (residents / 150).max(1);
        for index in 0..businesses + voluntary {
            let leader = adults[self.rng.random_range(0..adults.len())];
            let chair = adults[self.rng.random_range(0..adults.len())];
            let family = self.pick(&FAMILY_NAMES).to_owned();
            let address = self.new_address();
            let (name, form, industry, employees) = if index < businesses {
                let (word, form, industry) = BUSINESS_WORDS[self.rng.random_range(0..BUSINESS_WORDS.len())];
                let name = if form == "AS" { format!("{family} {word} AS") } else { format!("{family} {word}") };
                (name, form.to_owned(), Some(industry.to_owned()), self.rng.random_range(0..40))
            } else {
                let word = self.pick(&VOLUNTARY).to_owned();
                (format!("{} {word}", self.spec.kommunenummer.navn()), "FLI".to_owned(), Some("94.991".to_owned()), 0)
            };
            let mut roles = vec![(OrganisationRole::Styreleder, chair)];
            if form != "FLI" {
                roles.push((OrganisationRole::DagligLeder, leader));
            }
            let orgnr = self.new_orgnr();
            self.population.organisations.push(Organisation {
                orgnr,
                name,
                form,
                business_address: Some(address.clone()),
                postal_address: Some(address),
                kommune: Some(self.spec.kommunenummer),
                industry_code: industry,
                employees,
                founded: Some(months_before(POPULATION_DATE, self.rng.random_range(2..400))),
                deleted: None,
                bankrupt: self.rng.random_bool(0.005),
                roles,
                parent: None,
            });
        }
    }

    fn contacts(&mut self) {
        let persons: Vec<(Fnr, u32, bool)> = self
            .population
            .persons
            .iter()
            .filter(|p| p.status != PersonStatus::Doed)
            .map(|p| {
                (p.fnr, u32::try_from(p.age_on(POPULATION_DATE)).unwrap_or(0), p.fnr.kind() == kernel::FnrKind::DNummer)
            })
            .collect();
        for (fnr, age, d_nummer) in persons {
            if age < 15 {
                continue;
            }
            let roll: f64 = self.rng.random();
            let digits = fnr.as_digits();
            let mailbox_roll: f64 = self.rng.random();
            let contact = if roll < 0.05 {
                Contact {
                    fnr,
                    reserved: false,
                    status: ContactStatus::IkkeRegistrert,
                    can_be_notified: false,
                    email: None,
                    mobile: None,
                    mailbox: None,
                    language: None,
                }
            } else {
                let reserved = roll < 0.08 || (age >= 85 && roll < 0.3);
                let mailbox = if reserved || mailbox_roll >= 0.62 {
                    None
                } else if mailbox_roll < 0.52 {
                    Some((MailboxProvider::Digipost, format!("synthetic.{}#{}", &digits[6..], &digits[..4])))
                } else {
                    Some((MailboxProvider::EBoks, format!("{}@e-boks.synthetic", &digits[6..])))
                };
                let language = if d_nummer {
                    Language::English
                } else if self.rng.random_bool(0.12) {
                    Language::Nynorsk
                } else {
                    Language::Bokmal
                };
                Contact {
                    fnr,
                    reserved,
                    status: ContactStatus::Aktiv,
                    can_be_notified: !reserved,
                    email: Some(format!("innbygger.{}@example.no", &digits[6..])),
                    mobile: Some(format!("9{:07}", self.rng.random_range(0..10_000_000_u32))),
                    mailbox,
                    language: Some(language),
                }
            };
            self.population.contacts.push(contact);
        }
    }

    /// About one in fifty residents is new in Norway; `residents` is the batch's share.
    fn newcomers(&mut self, residents: u32) {
        let count = (residents / 50).max(1);
        for _ in 0..count {
            let (given, family, citizenship, sex) = NEWCOMERS[self.rng.random_range(0..NEWCOMERS.len())];
            let age = self.age_between(18, 60);
            let birth = self.birth_date_for_age(age);
            let fnr = self.new_fnr(birth, true);
            let address = self.new_address();
            let moved_in = months_before(POPULATION_DATE, self.rng.random_range(1..24));
            let sex = if sex == "female" { Sex::Female } else { Sex::Male };
            let mut person = self.person(
                Name { given: given.to_owned(), middle: None, family: family.to_owned() },
                sex,
                birth,
                fnr,
                &address,
                moved_in,
            );
            person.birth_kommune = None;
            person.birth_country = citizenship.to_owned();
            person.citizenships = vec![citizenship.to_owned()];
            person.status = PersonStatus::Midlertidig;
            self.population.persons.push(person);
        }
    }
}

/// Adds the named personas, with their households and the organisation one of them leads.
fn add_personas(generator: &mut Generator) {
    let kommune = generator.spec.kommunenummer;
    let named = |g: &mut Generator, persona: Persona, sex: Sex, address: &Address, moved_in: Date| {
        let (birth, _, _) = persona.birth();
        let (given, family) = persona.name().split_once(' ').unwrap_or((persona.name(), ""));
        let mut person = g.person(
            Name { given: given.to_owned(), middle: None, family: family.to_owned() },
            sex,
            birth,
            persona.fnr(),
            address,
            moved_in,
        );
        person.adressebeskyttelse = Adressebeskyttelse::Ugradert;
        person.residences =
            vec![ResidencePeriod { residence: Residence::Open(address.clone()), from: moved_in, to: None }];
        person
    };

    // Ingrid Solberg, her partner and their newborn daughter.
    let address = generator.new_address();
    let moved_in = date!(2019 - 06 - 01);
    let ingrid = named(generator, Persona::ParentOfNewborn, Sex::Female, &address, moved_in);
    let jonas = {
        let birth = date!(1990 - 10 - 05);
        let fnr = generator.new_fnr(birth, false);
        generator.person(
            Name { given: "Jonas".into(), middle: None, family: "Solberg".into() },
            Sex::Male,
            birth,
            fnr,
            &address,
            moved_in,
        )
    };
    let emma = {
        let birth = POPULATION_DATE - Duration::days(21);
        let fnr = generator.new_fnr(birth, false);
        generator.person(
            Name { given: "Emma".into(), middle: None, family: "Solberg".into() },
            Sex::Female,
            birth,
            fnr,
            &address,
            birth,
        )
    };
    let mut family = vec![ingrid, jonas, emma];
    for member in &mut family {
        member.adressebeskyttelse = Adressebeskyttelse::Ugradert;
        member.residences = vec![ResidencePeriod {
            residence: Residence::Open(address.clone()),
            from: moved_in.max(member.birth_date),
            to: None,
        }];
    }
    Generator::link_family(&mut family, &[0, 1], &[2], true);
    let owners = vec![(Owner::Person(family[0].fnr), 1, 2), (Owner::Person(family[1].fnr), 1, 2)];
    generator.home(&address, owners);
    generator.population.persons.extend(family);

    // Sofie Lunde moved in from Oslo two weeks ago.
    let address = generator.new_address();
    let mut sofie = named(generator, Persona::JustMovedIn, Sex::Female, &address, POPULATION_DATE - Duration::days(14));
    let oslo = Address::Vegadresse {
        kommunenummer: "0301".into(),
        adressenavn: "Thorvald Meyers gate".into(),
        husnummer: 40,
        husbokstav: None,
        postnummer: "0555".into(),
        poststed: "OSLO".into(),
    };
    sofie.residences.push(ResidencePeriod {
        residence: Residence::Open(oslo),
        from: date!(2021 - 08 - 15),
        to: Some(POPULATION_DATE - Duration::days(14)),
    });
    sofie.birth_kommune = Kommunenummer::parse("0301").ok();
    generator.home(&address, Vec::new());
    generator.population.persons.push(sofie);

    // Arne Bakken, reserved against digital post (his KRR entry is set below).
    let address = generator.new_address();
    let arne = named(generator, Persona::ReservedAgainstDigitalPost, Sex::Male, &address, date!(1975 - 04 - 01));
    generator.home(&address, vec![(Owner::Person(arne.fnr), 1, 1)]);
    generator.population.persons.push(arne);

    // Maria Berg, strengt fortrolig.
    let address = generator.new_address();
    let mut maria = named(generator, Persona::StrengtFortrolig, Sex::Female, &address, date!(2023 - 02 - 01));
    maria.adressebeskyttelse = Adressebeskyttelse::StrengtFortrolig;
    maria.residences = vec![ResidencePeriod {
        residence: Residence::Protected(ProtectedAddress::new(address, Adressebeskyttelse::StrengtFortrolig)),
        from: date!(2023 - 02 - 01),
        to: None,
    }];
    generator.population.persons.push(maria);

    // Lars Haugen and his new business.
    let address = generator.new_address();
    let lars = named(generator, Persona::DagligLederOfNewBusiness, Sex::Male, &address, date!(2012 - 09 - 01));
    let orgnr = generator.new_orgnr();
    generator.population.organisations.push(Organisation {
        orgnr,
        name: "Haugen Snekkerverksted AS".into(),
        form: "AS".into(),
        business_address: Some(address.clone()),
        postal_address: Some(address.clone()),
        kommune: Some(kommune),
        industry_code: Some("43.320".into()),
        employees: 1,
        founded: Some(POPULATION_DATE - Duration::days(30)),
        deleted: None,
        bankrupt: false,
        roles: vec![(OrganisationRole::DagligLeder, lars.fnr), (OrganisationRole::Styreleder, lars.fnr)],
        parent: None,
    });
    generator.home(&address, vec![(Owner::Person(lars.fnr), 1, 1)]);
    generator.population.persons.push(lars);

    // Oksana Kovalenko, new in Norway with a d-nummer.
    let address = generator.new_address();
    let mut oksana = named(generator, Persona::NewInNorway, Sex::Female, &address, date!(2026 - 03 - 10));
    oksana.status = PersonStatus::Midlertidig;
    oksana.birth_kommune = None;
    oksana.birth_country = "UKR".into();
    oksana.citizenships = vec!["UKR".into()];
    generator.home(&address, Vec::new());
    generator.population.persons.push(oksana);

    // Per Olsen, whose wife Randi died five days ago, and their grown son.
    let address = generator.new_address();
    let moved_in = date!(1980 - 05 - 01);
    let per = named(generator, Persona::NextOfKinOfDeceased, Sex::Male, &address, moved_in);
    let randi = {
        let birth = date!(1953 - 07 - 21);
        let fnr = generator.new_fnr(birth, false);
        let mut randi = generator.person(
            Name { given: "Randi".into(), middle: None, family: "Olsen".into() },
            Sex::Female,
            birth,
            fnr,
            &address,
            moved_in,
        );
        randi.status = PersonStatus::Doed;
        randi.death_date = Some(POPULATION_DATE - Duration::days(5));
        randi
    };
    let son = {
        let birth = date!(1979 - 12 - 02);
        let fnr = generator.new_fnr(birth, false);
        let other = generator.new_address();
        generator.person(
            Name { given: "Thomas".into(), middle: None, family: "Olsen".into() },
            Sex::Male,
            birth,
            fnr,
            &other,
            date!(2005 - 01 - 01),
        )
    };
    let mut olsens = vec![per, randi, son];
    for member in olsens.iter_mut().take(2) {
        member.adressebeskyttelse = Adressebeskyttelse::Ugradert;
        member.residences =
            vec![ResidencePeriod { residence: Residence::Open(address.clone()), from: moved_in, to: None }];
    }
    Generator::link_family(&mut olsens, &[0, 1], &[2], true);
    // Grown children are no longer under anyone's parental responsibility.
    for parent in olsens.iter_mut().take(2) {
        parent.parental_responsibility_for.clear();
    }
    generator.home(&address, vec![(Owner::Person(olsens[0].fnr), 1, 2), (Owner::Person(olsens[1].fnr), 1, 2)]);
    generator.population.persons.extend(olsens);
}

/// The synthetic municipality in batches of about `batch_size` persons, so that a large one
/// never has to be in memory at once. The first batch holds the personas. Each batch carries its
/// own organisations (with roles held by its persons), homes and KRR entries, all in one
/// municipality.
pub struct Batches {
    generator: Generator,
    /// Municipalities still to generate, with their resident counts; the front one is current.
    plan: std::collections::VecDeque<(Kommunenummer, u32)>,
    made_here: u32,
    target: u32,
    batch_size: u32,
    first: bool,
}

/// Generates a municipality batch by batch; see [`Batches`].
pub fn batches(spec: &PopulationSpec, batch_size: u32) -> Batches {
    several(&[(spec.kommunenummer, spec.residents)], spec.seed, batch_size)
}

/// Generates several municipalities — a region, or the whole country — batch by batch from one
/// seed, so that no number is used twice across them. The personas live in the first.
pub fn several(municipalities: &[(Kommunenummer, u32)], seed: u64, batch_size: u32) -> Batches {
    let plan: std::collections::VecDeque<(Kommunenummer, u32)> =
        municipalities.iter().map(|&(kommune, residents)| (kommune, residents.max(20))).collect();
    let first = plan.front().map_or_else(|| Kommunenummer::parse("0301").ok(), |(k, _)| Some(*k));
    let spec = PopulationSpec { kommunenummer: first.unwrap_or_else(unreachable_kommune), residents: 0, seed };
    Batches {
        generator: Generator::new(spec),
        target: plan.iter().map(|(_, n)| *n).fold(0, u32::saturating_add),
        plan,
        made_here: 0,
        batch_size: batch_size.max(100),
        first: true,
    }
}

#[cold]
fn unreachable_kommune() -> Kommunenummer {
    // 0301 (Oslo) is in the compiled-in list; a test checks it.
    panic!("Oslo is missing from the municipality list")
}

impl std::fmt::Debug for Batches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batches").field("target", &self.target).field("left", &self.plan.len()).finish()
    }
}

impl Batches {
    /// About how many persons all the municipalities will have.
    pub fn target(&self) -> u32 {
        self.target
    }

    /// Only persons (with addresses and family relations) and their KRR entries: no
    /// businesses, voluntary organisations or homes beyond the personas'. For loads that are
    /// about the population register alone, such as the country-scale benchmark.
    pub fn persons_and_contacts_only(mut self) -> Self {
        self.generator.persons_only = true;
        self
    }
}

impl Iterator for Batches {
    type Item = Population;

    fn next(&mut self) -> Option<Population> {
        let (kommune, residents) = loop {
            let &(kommune, residents) = self.plan.front()?;
            if self.made_here < residents {
                break (kommune, residents);
            }
            self.plan.pop_front();
            self.made_here = 0;
        };
        let generator = &mut self.generator;
        generator.spec.kommunenummer = kommune;
        let batch_target = self.batch_size.min(residents - self.made_here);
        if self.first {
            add_personas(generator);
            self.first = false;
        }
        generator.newcomers(batch_target);
        while (generator.population.persons.len() as u64) < u64::from(batch_target) {
            generator.household();
        }
        if !generator.persons_only {
            generator.organisations();
        }
        generator.contacts();
        let mut batch = std::mem::take(&mut generator.population);
        self.made_here = self.made_here.saturating_add(u32::try_from(batch.persons.len()).unwrap_or(u32::MAX));
        finish(&mut batch);
        Some(batch)
    }
}

/// Fixes what the dice may not decide, and puts everything in the order the registers give it
/// back in: relations and responsibilities by number, addresses newest first.
fn finish(population: &mut Population) {
    // The personas' KRR entries are fixed, so each way a letter can go has a persona: Arne
    // Bakken is reserved (paper), Ingrid Solberg has Digipost, the others get the Min side
    // inbox with a notice (Per Olsen by SMS only).
    for contact in &mut population.contacts {
        let Some(persona) = Persona::ALL.into_iter().find(|p| p.fnr() == contact.fnr) else { continue };
        let digits = contact.fnr.as_digits();
        contact.status = ContactStatus::Aktiv;
        contact.reserved = persona == Persona::ReservedAgainstDigitalPost;
        contact.can_be_notified = !contact.reserved;
        contact.mailbox = (persona == Persona::ParentOfNewborn)
            .then(|| (MailboxProvider::Digipost, format!("synthetic.{}#{}", &digits[6..], &digits[..4])));
        contact.email = (!contact.reserved && persona != Persona::NextOfKinOfDeceased)
            .then(|| format!("innbygger.{}@example.no", &digits[6..]));
        contact.mobile = (!contact.reserved).then(|| format!("9{}", &digits[4..11]));
    }
    for person in &mut population.persons {
        person.relations.sort_by_key(|r| r.related);
        person.parental_responsibility_for.sort();
        person.residences.sort_by_key(|period| std::cmp::Reverse(period.from));
    }
    for organisation in &mut population.organisations {
        organisation.roles.sort_by_key(|(role, fnr)| (role.code(), *fnr));
    }
    for property in &mut population.properties {
        property.owners.sort_by_key(|(owner, _, _)| match owner {
            Owner::Person(fnr) => fnr.as_digits(),
            Owner::Organisation(orgnr) => orgnr.as_digits(),
        });
    }
}

/// Generates a whole municipality in memory (for small ones and tests; large ones should use
/// [`batches`]). `progress` is called with (persons so far, target) after each batch.
pub fn generate(spec: &PopulationSpec, mut progress: impl FnMut(u32, u32)) -> Population {
    let mut all = Population::default();
    let batches = batches(spec, 20_000);
    let target = batches.target();
    for batch in batches {
        all.persons.extend(batch.persons);
        all.organisations.extend(batch.organisations);
        all.properties.extend(batch.properties);
        all.contacts.extend(batch.contacts);
        progress(u32::try_from(all.persons.len()).unwrap_or(u32::MAX), target);
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(residents: u32, seed: u64) -> PopulationSpec {
        PopulationSpec { kommunenummer: Kommunenummer::parse("4632").expect("Austrheim"), residents, seed }
    }

    #[test]
    fn several_municipalities_share_one_number_space() {
        let k = |n: &str| Kommunenummer::parse(n).expect("kommune");
        let mut seen = HashSet::new();
        let mut per_kommune = std::collections::HashMap::new();
        for batch in several(&[(k("4632"), 700), (k("1103"), 900), (k("0301"), 300)], 3, 250) {
            let kommuner: HashSet<_> = batch.persons.iter().filter_map(|p| p.bosted_kommune).collect();
            assert_eq!(kommuner.len(), 1, "a batch stays in one municipality");
            for person in &batch.persons {
                assert!(seen.insert(person.fnr), "no number twice");
                *per_kommune.entry(person.bosted_kommune).or_insert(0_u32) += 1;
            }
        }
        assert!(Kommunenummer::parse("0301").is_ok());
        assert!((900..1000).contains(&per_kommune[&Some(k("1103"))]), "{per_kommune:?}");
        assert!((300..400).contains(&per_kommune[&Some(k("0301"))]), "{per_kommune:?}");
        assert!(seen.contains(&Persona::ParentOfNewborn.fnr()), "the personas are there once");
    }

    #[test]
    fn persons_and_contacts_only_leaves_out_organisations_and_homes() {
        let only = batches(&spec(3000, 4), 1000).persons_and_contacts_only();
        let mut counts = (0, 0, 0, 0);
        for batch in only {
            counts.0 += batch.persons.len();
            counts.1 += batch.contacts.len();
            counts.2 += batch.organisations.len();
            counts.3 += batch.properties.len();
        }
        assert!(counts.0 >= 3000 && counts.1 > 2000, "{counts:?}");
        assert_eq!((counts.2, counts.3), (1, 0), "only the persona's business: {counts:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_population() {
        let a = generate(&spec(800, 42), |_, _| {});
        let b = generate(&spec(800, 42), |_, _| {});
        let c = generate(&spec(800, 43), |_, _| {});
        let ids = |p: &Population| p.persons.iter().map(|x| x.fnr).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(ids(&a), ids(&c));
        assert_eq!(a.organisations.len(), b.organisations.len());
    }

    #[test]
    fn every_number_is_synthetic_valid_and_unique() {
        let population = generate(&spec(2000, 7), |_, _| {});
        let mut seen = HashSet::new();
        for person in &population.persons {
            assert!(person.fnr.is_synthetic());
            assert!(Fnr::parse(&person.fnr.as_digits()).is_ok());
            assert!(seen.insert(person.fnr), "duplicate number");
            assert_eq!(person.fnr.birth_date(), Some(person.birth_date), "number and birth date agree");
        }
        assert!(population.persons.len() >= 2000);
    }

    #[test]
    fn families_agree_with_each_other() {
        let population = generate(&spec(1500, 3), |_, _| {});
        let by_fnr: std::collections::HashMap<Fnr, &Person> = population.persons.iter().map(|p| (p.fnr, p)).collect();
        let mut checked = 0;
        for person in &population.persons {
            for relation in &person.relations {
                let other = by_fnr.get(&relation.related).expect("relations point at persons in the population");
                let back = other.relations.iter().find(|r| r.related == person.fnr).expect("relations go both ways");
                match relation.role {
                    RelationRole::Barn => {
                        assert!(matches!(back.role, RelationRole::Mor | RelationRole::Far));
                        assert!(other.birth_date > person.birth_date, "children are younger than parents");
                    }
                    RelationRole::Ektefelle => assert_eq!(back.role, RelationRole::Ektefelle),
                    _ => {}
                }
                checked += 1;
            }
            for child in &person.parental_responsibility_for {
                let child = by_fnr[child];
                assert!(child.age_on(POPULATION_DATE) < 18, "responsibility is for minors");
                assert_eq!(child.current_residence(), person.current_residence(), "children live with their parents");
            }
        }
        assert!(checked > 300, "a population has families: {checked} relations");
    }

    #[test]
    fn the_age_pyramid_is_close_to_norways() {
        let population = generate(&spec(20_000, 11), |_, _| {});
        let residents: Vec<&Person> = population.persons.iter().filter(|p| p.status != PersonStatus::Doed).collect();
        let share = |min: i32, max: i32| {
            residents.iter().filter(|p| (min..=max).contains(&p.age_on(POPULATION_DATE))).count() as f64
                / residents.len() as f64
        };
        // Statistics Norway 2024: about 21 % under 18 and 17.5 % aged 67 or older.
        let children = share(0, 17);
        let elderly = share(67, 120);
        assert!((0.17..=0.26).contains(&children), "children {children}");
        assert!((0.13..=0.23).contains(&elderly), "elderly {elderly}");
    }

    #[test]
    fn krr_shares_are_realistic() {
        let population = generate(&spec(10_000, 5), |_, _| {});
        let total = population.contacts.len() as f64;
        let reserved = population.contacts.iter().filter(|c| c.reserved).count() as f64 / total;
        let mailbox = population.contacts.iter().filter(|c| c.mailbox.is_some()).count() as f64 / total;
        let missing =
            population.contacts.iter().filter(|c| c.status == ContactStatus::IkkeRegistrert).count() as f64 / total;
        assert!((0.01..=0.08).contains(&reserved), "reserved {reserved}");
        assert!((0.4..=0.75).contains(&mailbox), "mailbox {mailbox}");
        assert!((0.02..=0.1).contains(&missing), "missing {missing}");
    }

    #[test]
    fn the_personas_exist_as_described() {
        let population = generate(&spec(300, 1), |_, _| {});
        let find = |persona: Persona| {
            population.persons.iter().find(|p| p.fnr == persona.fnr()).unwrap_or_else(|| panic!("{persona:?} missing"))
        };
        for persona in Persona::ALL {
            assert_eq!(find(persona).name.to_string(), persona.name());
        }
        let ingrid = find(Persona::ParentOfNewborn);
        let newborn = ingrid.parental_responsibility_for.first().expect("a child");
        let emma = population.persons.iter().find(|p| p.fnr == *newborn).expect("the child");
        assert!(POPULATION_DATE - emma.birth_date < Duration::days(30));
        assert_eq!(find(Persona::StrengtFortrolig).adressebeskyttelse, Adressebeskyttelse::StrengtFortrolig);
        assert!(matches!(find(Persona::StrengtFortrolig).current_residence(), Residence::Protected(_)));
        assert_eq!(find(Persona::NewInNorway).fnr.kind(), kernel::FnrKind::DNummer);
        let arne =
            population.contacts.iter().find(|c| c.fnr == Persona::ReservedAgainstDigitalPost.fnr()).expect("KRR");
        assert!(arne.reserved);
        let lars = Persona::DagligLederOfNewBusiness.fnr();
        assert!(population.organisations.iter().any(|o| o.roles.contains(&(OrganisationRole::DagligLeder, lars))));
        let per = find(Persona::NextOfKinOfDeceased);
        let wife = per.relations.iter().find(|r| r.role == RelationRole::Ektefelle).expect("spouse");
        let randi = population.persons.iter().find(|p| p.fnr == wife.related).expect("Randi");
        assert_eq!(randi.status, PersonStatus::Doed);
        assert!(find(Persona::JustMovedIn).residences.len() == 2);
    }

    #[test]
    fn batches_together_make_one_consistent_population() {
        let spec = spec(5000, 8);
        let batches: Vec<Population> = batches(&spec, 1000).collect();
        assert!(batches.len() >= 5, "{} batches", batches.len());
        let personas: Vec<Fnr> = Persona::ALL.iter().map(|p| p.fnr()).collect();
        assert!(personas.iter().all(|f| batches[0].persons.iter().any(|p| p.fnr == *f)), "personas come first");
        let everyone: HashSet<Fnr> = batches.iter().flat_map(|b| b.persons.iter().map(|p| p.fnr)).collect();
        let total: usize = batches.iter().map(|b| b.persons.len()).sum();
        assert_eq!(everyone.len(), total, "numbers are unique across batches");
        assert!(total >= 5000);
        for batch in &batches {
            let here: HashSet<Fnr> = batch.persons.iter().map(|p| p.fnr).collect();
            for person in &batch.persons {
                assert!(person.relations.iter().all(|r| here.contains(&r.related)), "families stay in one batch");
            }
            for organisation in &batch.organisations {
                assert!(
                    organisation.roles.iter().all(|(_, f)| here.contains(f)),
                    "roles are held by the batch's persons"
                );
            }
            assert!(batch.contacts.iter().all(|c| here.contains(&c.fnr)));
        }
    }

    #[test]
    fn personas_have_the_numbers_docs_demo_md_lists() {
        let documented = [
            (Persona::ParentOfNewborn, "14839221100"),
            (Persona::JustMovedIn, "02889831009"),
            (Persona::ReservedAgainstDigitalPost, "09854712060"),
            (Persona::StrengtFortrolig, "23918841032"),
            (Persona::DagligLederOfNewBusiness, "30818516084"),
            (Persona::NewInNorway, "52869026050"),
            (Persona::NextOfKinOfDeceased, "17825133097"),
        ];
        for (persona, number) in documented {
            assert_eq!(persona.fnr().as_digits(), number, "{persona:?}");
        }
    }

    #[test]
    fn personas_are_the_same_whatever_the_seed() {
        let a = generate(&spec(100, 1), |_, _| {});
        let b = generate(&spec(5000, 99), |_, _| {});
        for persona in Persona::ALL {
            assert!(a.persons.iter().any(|p| p.fnr == persona.fnr()));
            assert!(b.persons.iter().any(|p| p.fnr == persona.fnr()));
        }
    }
}
