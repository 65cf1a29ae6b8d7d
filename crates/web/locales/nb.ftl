# Bokmål. Every key here must exist in nn.ftl and en.ftl too (checked by a test).

site-name = { $kommune } kommune
site-tagline = Digitale tjenester
skip-to-content = Hopp til hovedinnhold
nav-label = Hovedmeny
nav-home = Forside
nav-accessibility = Tilgjengelighet
language-switch-label = Velg språk
demo-banner = Dette er en demonstrasjon. Alle personer og opplysninger er oppdiktet.

front-title = Velkommen til { $kommune } kommune
front-lead = Her samler { $kommune } kommune digitale tjenester for innbyggere, næringsliv og frivillige — med innlogging, skjema som fylles ut for deg, og brev du får der du leser dem.
front-notices-heading = Driftsmeldinger
front-notices-empty = Ingen driftsmeldinger akkurat nå.
front-about-heading = Om tjenesten
front-about-body = Tjenesten er bygget på den åpne plattformen allmenning. Den følger kravene til universell utforming og sender bare opplysninger videre når loven gir grunnlag for det.

a11y-title = Tilgjengelighetserklæring
a11y-lead = { $kommune } kommune har ansvar for at de digitale tjenestene på dette nettstedet er tilgjengelige for alle, også for deg som bruker skjermleser, forstørrelse eller bare tastatur.
a11y-status-heading = Status
a11y-status-body = Nettstedet skal oppfylle kravene i WCAG 2.1 på nivå AA, slik forskrift om universell utforming av IKT-løsninger krever. Hver side testes automatisk i en ekte nettleser og med tastatur før den tas i bruk.
a11y-known-issues-heading = Kjente avvik
a11y-known-issues-body = Vi kjenner ikke til avvik fra kravene nå. Fant du et, vil vi gjerne høre om det.
a11y-feedback-heading = Gi tilbakemelding
a11y-feedback-intro = Fortell oss hva som ikke fungerer for deg. Oppgi gjerne e-postadresse hvis du vil ha svar.
a11y-supervision-heading = Tilsyn
a11y-supervision-body = Tilsynet for universell utforming av ikt fører tilsyn med at kravene følges. Du kan melde fra til tilsynet om du ikke får svar fra oss, eller ikke er fornøyd med svaret.
a11y-supervision-link = Meld fra til Tilsynet for universell utforming av ikt
a11y-updated = Erklæringen ble sist oppdatert { $date }.

feedback-message-label = Hva gjelder tilbakemeldingen?
feedback-message-description = Beskriv hva som ikke virket, og hva du prøvde å gjøre.
feedback-page-label = Hvilken side gjelder det? (valgfritt)
feedback-email-label = E-postadresse (valgfritt)
feedback-submit = Send tilbakemelding
feedback-received = Takk! Vi har mottatt tilbakemeldingen din.
error-summary-heading = Du må rette dette før du kan sende:
error-message-required = Skriv hva tilbakemeldingen gjelder.
error-message-too-long = Tilbakemeldingen kan være på høyst { $max } tegn.
error-page-too-long = Sidehenvisningen kan være på høyst { $max } tegn.
error-contact_email-invalid-email = Skriv en gyldig e-postadresse, for eksempel navn@eksempel.no.

not-found-title = Fant ikke siden
not-found-body = Siden du leter etter finnes ikke, eller den er flyttet. Sjekk at adressen er riktig.
server-error-title = Noe gikk galt hos oss
server-error-body = Vi klarte ikke å vise siden. Feilen er registrert. Prøv igjen om litt.
too-large-title = For mye innhold
too-large-body = Det du sendte, var større enn vi tar imot. Prøv med mindre tekst eller mindre filer.
error-reference = Referanse: { $id }
unknown-host-title = Ukjent adresse
unknown-host-body = Denne adressen hører ikke til noen kommune på denne tjenesten.
back-to-front = Gå til forsiden

footer-accessibility = Tilgjengelighetserklæring
footer-source = Bygget på allmenning, åpen kildekode
