//! Acting for others. After login a person may act as themselves, as a minor child they have
//! parental responsibility for, as a person they are verge for, as an organisation where they
//! are daglig leder or styreleder, or as someone who has given them a fullmakt. The choices are
//! read from the registers (each read logged); the choice is checked again on every request.

use kernel::{Fnr, OrgNr};
use registers::model::OrganisationRole;
use registers::{Caller, RegisterError, Registers};
use time::Date;

use crate::fullmakt::Fullmakter;
use crate::{ActingAs, IdentityError};

/// The roles in Enhetsregisteret that may act for an organisation here.
pub const ACTING_ROLES: [OrganisationRole; 2] = [OrganisationRole::DagligLeder, OrganisationRole::Styreleder];

/// One person or organisation the person may act as.
#[derive(Debug, Clone)]
pub struct ActingOption {
    /// The choice.
    pub acting_as: ActingAs,
    /// The name to show.
    pub name: String,
    /// For a fullmakt: its areas.
    pub areas: Vec<String>,
}

/// Whether someone born as `fnr` says is under 18 on `today`. A number without a derivable
/// birth date counts as an adult, so access through it ends rather than lasts.
pub fn is_minor(fnr: &Fnr, today: Date) -> bool {
    let Some(birth) = fnr.birth_date() else { return false };
    let Some(eighteenth) = birth.replace_year(birth.year() + 18).ok().or_else(|| {
        // Born on 29 February: of age on 1 March.
        Date::from_calendar_date(birth.year() + 18, time::Month::March, 1).ok()
    }) else {
        return false;
    };
    today < eighteenth
}

fn person_name(person: &registers::model::Person) -> String {
    let name = &person.name;
    match &name.middle {
        Some(middle) => format!("{} {} {}", name.given, middle, name.family),
        None => format!("{} {}", name.given, name.family),
    }
}

/// Everyone `me` may act as today, themselves first. Reads the registers as `caller`.
pub async fn options(
    registers: &Registers,
    fullmakter: &Fullmakter,
    caller: &Caller,
    me: &Fnr,
    my_name: &str,
    today: Date,
) -> Result<Vec<ActingOption>, IdentityError> {
    let mut options = vec![ActingOption { acting_as: ActingAs::Myself, name: my_name.to_owned(), areas: vec![] }];
    let myself = registers.person(caller, me).await?;
    let children: Vec<Fnr> = myself
        .as_ref()
        .map(|p| p.parental_responsibility_for.iter().copied().filter(|c| is_minor(c, today)).collect())
        .unwrap_or_default();
    let wards = match registers.wards_of(caller, me).await {
        Ok(wards) => wards,
        Err(RegisterError::Unsupported(_)) => vec![],
        Err(other) => return Err(other.into()),
    };
    let active: Vec<_> = fullmakter.given_to(me).await?.into_iter().filter(|f| f.active_on(today)).collect();
    let mut people: Vec<Fnr> = children.iter().chain(wards.iter()).copied().collect();
    people.extend(active.iter().map(|f| f.giver));
    people.sort();
    people.dedup();
    let found = if people.is_empty() { vec![] } else { registers.persons(caller, &people).await? };
    let name_of = |fnr: &Fnr| found.iter().find(|p| p.fnr == *fnr).map(person_name);
    for child in &children {
        if let Some(name) = name_of(child) {
            options.push(ActingOption { acting_as: ActingAs::Child(*child), name, areas: vec![] });
        }
    }
    for ward in &wards {
        if let Some(name) = name_of(ward) {
            options.push(ActingOption { acting_as: ActingAs::Ward(*ward), name, areas: vec![] });
        }
    }
    let roles = match registers.roles_held_by(caller, me).await {
        Ok(roles) => roles,
        Err(RegisterError::Unsupported(_)) => vec![],
        Err(other) => return Err(other.into()),
    };
    let mut seen: Vec<OrgNr> = Vec::new();
    for (orgnr, role) in roles.into_iter().filter(|(_, role)| ACTING_ROLES.contains(role)) {
        if seen.contains(&orgnr) {
            continue;
        }
        seen.push(orgnr);
        match registers.organisation(caller, &orgnr).await {
            Ok(Some(organisation)) if !organisation.bankrupt => options.push(ActingOption {
                acting_as: ActingAs::Organisation(orgnr, role),
                name: organisation.name,
                areas: vec![],
            }),
            Ok(_) | Err(RegisterError::Gone | RegisterError::NotFound) => {}
            Err(other) => return Err(other.into()),
        }
    }
    for fullmakt in active {
        if let Some(name) = name_of(&fullmakt.giver) {
            options.push(ActingOption {
                acting_as: ActingAs::Fullmakt { id: fullmakt.id.clone(), giver: fullmakt.giver },
                name,
                areas: fullmakt.areas.clone(),
            });
        }
    }
    Ok(options)
}

/// The opaque value a form sends for one choice of whom to act as, in one session. A page
/// never carries a fødselsnummer: the value is a MAC of the choice, keyed with the
/// session's stored key (never in a page), so it says nothing about whom it stands for and is
/// worthless in another session. The server finds the choice again among the options it
/// offers ([`chosen`]).
pub fn option_token(session_key: &str, acting_as: &ActingAs) -> String {
    let choice = match acting_as {
        ActingAs::Myself => "myself".to_owned(),
        ActingAs::Child(fnr) => format!("child:{}", fnr.as_digits()),
        ActingAs::Ward(fnr) => format!("ward:{}", fnr.as_digits()),
        ActingAs::Organisation(orgnr, _) => format!("organisation:{}", orgnr.as_digits()),
        ActingAs::Fullmakt { id, .. } => format!("fullmakt:{id}"),
    };
    // HMAC-SHA256 (ring's), keyed with the session's key; the first 16 bytes, in hex.
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, session_key.as_bytes());
    let tag = ring::hmac::sign(&key, choice.as_bytes());
    tag.as_ref().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The option among `options` whose [`option_token`] is `token`, if any.
pub fn chosen<'o>(options: &'o [ActingOption], session_key: &str, token: &str) -> Option<&'o ActingOption> {
    options.iter().find(|o| option_token(session_key, &o.acting_as) == token)
}

/// Whom `me` may be taken to act as for a request whose session says `acting_as`: the
/// session's choice when the registers and fullmakter back it today (the child is theirs and
/// under 18, the guardianship and the role still stand, the fullmakt is theirs and in force),
/// else themselves. The reads are made as `caller` and so are in `me`'s access log. The policy
/// then decides with this as the asker's side and the session's party as the resource.
pub async fn backed_by_relations(
    registers: &Registers,
    fullmakter: &Fullmakter,
    caller: &Caller,
    me: &Fnr,
    acting_as: &ActingAs,
    today: Date,
) -> Result<ActingAs, IdentityError> {
    let holds = match acting_as {
        ActingAs::Myself => true,
        ActingAs::Child(child) => {
            is_minor(child, today)
                && registers
                    .person(caller, me)
                    .await?
                    .is_some_and(|person| person.parental_responsibility_for.contains(child))
        }
        ActingAs::Ward(ward) => match registers.wards_of(caller, me).await {
            Ok(wards) => wards.contains(ward),
            Err(RegisterError::Unsupported(_)) => false,
            Err(other) => return Err(other.into()),
        },
        ActingAs::Organisation(orgnr, role) => {
            ACTING_ROLES.contains(role)
                && match registers.roles_held_by(caller, me).await {
                    Ok(roles) => roles.iter().any(|(o, r)| o == orgnr && r == role),
                    Err(RegisterError::Unsupported(_)) => false,
                    Err(other) => return Err(other.into()),
                }
        }
        ActingAs::Fullmakt { id, giver } => {
            fullmakter.get(id).await?.is_some_and(|f| f.holder == *me && f.giver == *giver && f.active_on(today))
        }
    };
    Ok(if holds { acting_as.clone() } else { ActingAs::Myself })
}

/// What a request may rely on: whether the stored choice still holds, and for a fullmakt its
/// areas. Checked on every request, from the database and the calendar only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Still valid; for a fullmakt, with its areas.
    Valid {
        /// The fullmakt's areas (empty otherwise).
        fullmakt_areas: Vec<String>,
    },
    /// No longer valid: the session goes back to acting as oneself.
    Ended,
}

/// Checks that `me` may still act as `acting_as` today: a child must still be under 18, a
/// fullmakt must still be in force and held by `me`. Roles in organisations and guardianships
/// were checked when chosen and are checked again at the next login.
pub async fn still_valid(
    fullmakter: &Fullmakter,
    me: &Fnr,
    acting_as: &ActingAs,
    today: Date,
) -> Result<Check, IdentityError> {
    Ok(match acting_as {
        ActingAs::Myself | ActingAs::Ward(_) | ActingAs::Organisation(..) => Check::Valid { fullmakt_areas: vec![] },
        ActingAs::Child(child) if is_minor(child, today) => Check::Valid { fullmakt_areas: vec![] },
        ActingAs::Child(_) => Check::Ended,
        ActingAs::Fullmakt { id, giver } => match fullmakter.get(id).await? {
            Some(f) if f.holder == *me && f.giver == *giver && f.active_on(today) => {
                Check::Valid { fullmakt_areas: f.areas }
            }
            _ => Check::Ended,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn option_tokens_hide_the_number_and_differ_between_sessions() {
        let child = Fnr::parse("30108299939").expect("valid");
        let token = option_token("session-a", &ActingAs::Child(child));
        assert_eq!(token.len(), 32);
        assert!(!token.contains("30108299939"));
        assert_eq!(token, option_token("session-a", &ActingAs::Child(child)), "stable within a session");
        assert_ne!(token, option_token("session-b", &ActingAs::Child(child)), "worthless in another");
        assert_ne!(token, option_token("session-a", &ActingAs::Ward(child)), "a child is not a ward");
        let options = vec![
            ActingOption { acting_as: ActingAs::Myself, name: "Me".into(), areas: vec![] },
            ActingOption { acting_as: ActingAs::Child(child), name: "Child".into(), areas: vec![] },
        ];
        assert_eq!(chosen(&options, "session-a", &token).map(|o| o.name.as_str()), Some("Child"));
        assert!(chosen(&options, "session-b", &token).is_none());
        assert!(chosen(&options, "session-a", "child:30108299939").is_none());
    }

    #[test]
    fn a_child_is_a_minor_until_the_eighteenth_birthday() {
        // Synthetic number for someone born 2008-11-23.
        let fnr = Fnr::synthetic(date!(2008 - 11 - 23), 500).expect("test value");
        assert!(is_minor(&fnr, date!(2026 - 11 - 22)));
        assert!(!is_minor(&fnr, date!(2026 - 11 - 23)));
        let leap = Fnr::synthetic(date!(2008 - 02 - 29), 500).expect("test value");
        assert!(is_minor(&leap, date!(2026 - 02 - 28)));
        assert!(!is_minor(&leap, date!(2026 - 03 - 01)));
    }
}
