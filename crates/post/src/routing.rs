//! Which way a letter goes, decided as SvarUt decides it, from what the registers say about the
//! recipient. Pure: the facts come in, a route and its reason come out, and the reason is
//! recorded with the letter.

/// What the registers say about a recipient, as far as routing needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Facts {
    /// A person in Folkeregisteret, with their KRR entry.
    Person {
        /// The KRR entry; `None` when KRR has none.
        krr: Option<Krr>,
        /// The address is fortrolig or strengt fortrolig (or a client address).
        protected_address: bool,
        /// Folkeregisteret has an ordinary postal address for them.
        has_postal_address: bool,
    },
    /// An organisation in Enhetsregisteret.
    Organisation {
        /// It has a postal or business address.
        has_postal_address: bool,
        /// Notice addresses of its daglig leder (from their KRR entry), when usable.
        notice: Notice,
    },
}

/// What routing needs of a KRR entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Krr {
    /// Reserved against digital communication.
    pub reserved: bool,
    /// AKTIV (false for SLETTET and IKKE_REGISTRERT).
    pub active: bool,
    /// A digital mailbox (Digipost or e-Boks) is registered.
    pub mailbox: bool,
    /// Usable notice addresses (empty when KAN_IKKE_VARSLES).
    pub notice: Notice,
}

/// Where a notice of a letter in the inbox can go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notice {
    /// An e-mail address.
    pub email: Option<String>,
    /// A mobile number.
    pub sms: Option<String>,
}

impl Notice {
    /// Whether there is anywhere to send a notice.
    pub fn any(&self) -> bool {
        self.email.is_some() || self.sms.is_some()
    }
}

/// The sender's wishes that limit the routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Never on paper.
    pub digital_only: bool,
    /// No integrasjonspunkt is configured: a mailbox in KRR cannot be reached, so the inbox.
    pub no_mailbox_channel: bool,
}

/// The way a letter goes first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The resident's digital mailbox, through the integrasjonspunkt.
    DigitalMailbox,
    /// The recipient's inbox on Min side, with notices; on paper when unread after two working
    /// days (unless `paper_fallback` is false).
    Inbox {
        /// Where to send notices.
        notice: Notice,
        /// Printed if not read in time.
        paper_fallback: bool,
    },
    /// Printed and posted.
    Paper,
    /// Not sent: the sending unit must handle it by hand.
    Manual,
    /// Cannot be delivered at all as the sender asked.
    Undeliverable,
}

impl Route {
    /// The channel's name as stored (`digital_postkasse`, `innboks`, `papir`, `manuell`,
    /// `ingen`).
    pub fn channel(&self) -> &'static str {
        match self {
            Route::DigitalMailbox => "digital_postkasse",
            Route::Inbox { .. } => "innboks",
            Route::Paper => "papir",
            Route::Manual => "manuell",
            Route::Undeliverable => "ingen",
        }
    }
}

/// Why a route was chosen: a stable code, stored with the letter and shown to the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Reserved against digital post in KRR.
    Reserved,
    /// A digital mailbox is registered in KRR.
    MailboxInKrr,
    /// No digital mailbox; the inbox with a notice.
    InboxWithNotice,
    /// No digital mailbox and no usable contact data; the inbox without a notice.
    InboxWithoutNotice,
    /// Not registered in KRR (or deleted there); the inbox, paper when unread.
    NotInKrr,
    /// An organisation: its inbox, a notice to its daglig leder.
    Organisation,
    /// A protected address: never printed, never shown.
    ProtectedAddress,
    /// No postal address and no digital channel.
    NoChannel,
    /// Digital only, but the recipient is reserved against digital post.
    DigitalOnlyButReserved,
}

impl Reason {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Reserved => "reservert_i_krr",
            Reason::MailboxInKrr => "digital_postkasse_i_krr",
            Reason::InboxWithNotice => "innboks_med_varsel",
            Reason::InboxWithoutNotice => "innboks_uten_varsel",
            Reason::NotInKrr => "ikke_i_krr",
            Reason::Organisation => "organisasjon",
            Reason::ProtectedAddress => "adressebeskyttelse",
            Reason::NoChannel => "ingen_adresse_eller_digital_kanal",
            Reason::DigitalOnlyButReserved => "kun_digital_men_reservert",
        }
    }

    /// The reason in plain Norwegian, for the sender's view and the task.
    pub fn text(self) -> &'static str {
        match self {
            Reason::Reserved => "Mottakeren har reservert seg mot digital post i Kontakt- og reservasjonsregisteret.",
            Reason::MailboxInKrr => {
                "Mottakeren har digital postkasse (Digipost eller e-Boks) i Kontakt- og reservasjonsregisteret."
            }
            Reason::InboxWithNotice => {
                "Mottakeren har ikke digital postkasse. Brevet ligger på Min side, og mottakeren er varslet."
            }
            Reason::InboxWithoutNotice => {
                "Mottakeren har ikke digital postkasse og kan ikke varsles. Brevet ligger på Min side."
            }
            Reason::NotInKrr => {
                "Mottakeren er ikke registrert i Kontakt- og reservasjonsregisteret. Brevet ligger på Min side."
            }
            Reason::Organisation => "Brevet ligger i virksomhetens innboks, og daglig leder er varslet.",
            Reason::ProtectedAddress => {
                "Mottakeren har beskyttet adresse. Brevet må behandles manuelt og sendes ikke på papir."
            }
            Reason::NoChannel => "Mottakeren har verken postadresse eller digital kanal. Brevet må behandles manuelt.",
            Reason::DigitalOnlyButReserved => {
                "Brevet skal bare sendes digitalt, men mottakeren har reservert seg mot digital post."
            }
        }
    }
}

/// The route for a recipient, and why.
pub fn route(facts: &Facts, options: Options) -> (Route, Reason) {
    match facts {
        Facts::Person { krr, protected_address, has_postal_address } => {
            if *protected_address {
                return (Route::Manual, Reason::ProtectedAddress);
            }
            let paper = |reason: Reason| {
                if options.digital_only {
                    (Route::Undeliverable, Reason::DigitalOnlyButReserved)
                } else if *has_postal_address {
                    (Route::Paper, reason)
                } else {
                    (Route::Manual, Reason::NoChannel)
                }
            };
            let inbox = |notice: Notice, reason: Reason| {
                let paper_fallback = !options.digital_only && *has_postal_address;
                (Route::Inbox { notice, paper_fallback }, reason)
            };
            match krr {
                Some(krr) if krr.active && krr.reserved => paper(Reason::Reserved),
                Some(krr) if krr.active && krr.mailbox && !options.no_mailbox_channel => {
                    (Route::DigitalMailbox, Reason::MailboxInKrr)
                }
                Some(krr) if krr.active && krr.notice.any() => inbox(krr.notice.clone(), Reason::InboxWithNotice),
                Some(krr) if krr.active => inbox(Notice::default(), Reason::InboxWithoutNotice),
                _ => inbox(Notice::default(), Reason::NotInKrr),
            }
        }
        Facts::Organisation { has_postal_address, notice } => (
            Route::Inbox { notice: notice.clone(), paper_fallback: !options.digital_only && *has_postal_address },
            Reason::Organisation,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(krr: Option<Krr>) -> Facts {
        Facts::Person { krr, protected_address: false, has_postal_address: true }
    }

    fn reachable() -> Notice {
        Notice { email: Some("a@example.org".into()), sms: None }
    }

    #[test]
    fn reserved_persons_get_paper_and_digital_only_letters_never_do() {
        let krr = Krr { reserved: true, active: true, mailbox: true, notice: reachable() };
        assert_eq!(route(&person(Some(krr.clone())), Options::default()), (Route::Paper, Reason::Reserved));
        assert_eq!(
            route(&person(Some(krr)), Options { digital_only: true, ..Options::default() }),
            (Route::Undeliverable, Reason::DigitalOnlyButReserved)
        );
    }

    #[test]
    fn a_mailbox_wins_over_the_inbox_when_it_can_be_reached() {
        let krr = Krr { reserved: false, active: true, mailbox: true, notice: reachable() };
        assert_eq!(
            route(&person(Some(krr.clone())), Options::default()),
            (Route::DigitalMailbox, Reason::MailboxInKrr)
        );
        let no_channel = Options { no_mailbox_channel: true, ..Options::default() };
        assert_eq!(route(&person(Some(krr)), no_channel).1, Reason::InboxWithNotice);
    }

    #[test]
    fn otherwise_the_inbox_with_a_notice_where_there_is_one_and_paper_later() {
        let krr = Krr { reserved: false, active: true, mailbox: false, notice: reachable() };
        assert_eq!(
            route(&person(Some(krr.clone())), Options::default()),
            (Route::Inbox { notice: reachable(), paper_fallback: true }, Reason::InboxWithNotice)
        );
        assert_eq!(
            route(&person(Some(krr)), Options { digital_only: true, ..Options::default() }),
            (Route::Inbox { notice: reachable(), paper_fallback: false }, Reason::InboxWithNotice)
        );
        let silent = Krr { reserved: false, active: true, mailbox: false, notice: Notice::default() };
        assert_eq!(route(&person(Some(silent)), Options::default()).1, Reason::InboxWithoutNotice);
        assert_eq!(route(&person(None), Options::default()).1, Reason::NotInKrr);
        let deleted = Krr { reserved: true, active: false, mailbox: false, notice: reachable() };
        assert_eq!(route(&person(Some(deleted)), Options::default()).1, Reason::NotInKrr);
    }

    #[test]
    fn protected_addresses_go_to_manual_handling_whatever_krr_says() {
        let krr = Krr { reserved: true, active: true, mailbox: true, notice: reachable() };
        let facts = Facts::Person { krr: Some(krr), protected_address: true, has_postal_address: true };
        assert_eq!(route(&facts, Options::default()), (Route::Manual, Reason::ProtectedAddress));
    }

    #[test]
    fn no_address_and_no_digital_channel_is_manual() {
        let krr = Krr { reserved: true, active: true, mailbox: false, notice: Notice::default() };
        let facts = Facts::Person { krr: Some(krr), protected_address: false, has_postal_address: false };
        assert_eq!(route(&facts, Options::default()), (Route::Manual, Reason::NoChannel));
        let unreachable = Facts::Person { krr: None, protected_address: false, has_postal_address: false };
        assert_eq!(
            route(&unreachable, Options::default()),
            (Route::Inbox { notice: Notice::default(), paper_fallback: false }, Reason::NotInKrr)
        );
    }

    #[test]
    fn organisations_get_their_inbox_and_paper_if_unopened() {
        let facts = Facts::Organisation { has_postal_address: true, notice: reachable() };
        assert_eq!(
            route(&facts, Options::default()),
            (Route::Inbox { notice: reachable(), paper_fallback: true }, Reason::Organisation)
        );
    }
}
