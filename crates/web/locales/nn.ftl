# Nynorsk. Every key here must exist in nb.ftl and en.ftl too (checked by a test).

site-name = { $kommune } kommune
site-tagline = Digitale tenester
skip-to-content = Hopp til hovudinnhald
nav-label = Hovudmeny
nav-home = Framside
nav-accessibility = Tilgjenge
language-switch-label = Vel språk
demo-banner = Dette er ei demonstrasjon. Alle personar og opplysningar er oppdikta.

front-title = Velkomen til { $kommune } kommune
front-lead = Her samlar { $kommune } kommune digitale tenester for innbyggjarar, næringsliv og frivillige — med innlogging, skjema som blir fylte ut for deg, og brev du får der du les dei.
front-notices-heading = Driftsmeldingar
front-notices-empty = Ingen driftsmeldingar akkurat no.
front-about-heading = Om tenesta
front-about-body = Tenesta er bygd på den opne plattforma allmenning. Ho følgjer krava til universell utforming og sender berre opplysningar vidare når lova gjev grunnlag for det.

a11y-title = Tilgjengeerklæring
a11y-lead = { $kommune } kommune har ansvar for at dei digitale tenestene på denne nettstaden er tilgjengelege for alle, også for deg som brukar skjermlesar, forstørring eller berre tastatur.
a11y-status-heading = Status
a11y-status-body = Nettstaden skal oppfylle krava i WCAG 2.1 på nivå AA, slik forskrift om universell utforming av IKT-løysingar krev. Kvar side blir testa automatisk i ein ekte nettlesar og med tastatur før ho blir teken i bruk.
a11y-known-issues-heading = Kjende avvik
a11y-known-issues-body = Vi kjenner ikkje til avvik frå krava no. Fann du eitt, vil vi gjerne høyre om det.
a11y-feedback-heading = Gje tilbakemelding
a11y-feedback-intro = Fortel oss kva som ikkje fungerer for deg. Oppgje gjerne e-postadresse om du vil ha svar.
a11y-supervision-heading = Tilsyn
a11y-supervision-body = Tilsynet for universell utforming av ikt fører tilsyn med at krava blir følgde. Du kan melde frå til tilsynet om du ikkje får svar frå oss, eller ikkje er nøgd med svaret.
a11y-supervision-link = Meld frå til Tilsynet for universell utforming av ikt
a11y-updated = Erklæringa vart sist oppdatert { $date }.

feedback-message-label = Kva gjeld tilbakemeldinga?
feedback-message-description = Skildra kva som ikkje verka, og kva du prøvde å gjere.
feedback-page-label = Kva side gjeld det? (valfritt)
feedback-email-label = E-postadresse (valfritt)
feedback-submit = Send tilbakemelding
feedback-received = Takk! Vi har fått tilbakemeldinga di.
error-summary-heading = Du må rette dette før du kan sende:
error-message-required = Skriv kva tilbakemeldinga gjeld.
error-message-too-long = Tilbakemeldinga kan vere på høgst { $max } teikn.
error-page-too-long = Sidetilvisinga kan vere på høgst { $max } teikn.
error-contact_email-invalid-email = Skriv ei gyldig e-postadresse, til dømes namn@døme.no.

not-found-title = Fann ikkje sida
not-found-body = Sida du leitar etter finst ikkje, eller ho er flytta. Sjekk at adressa er rett.
server-error-title = Noko gjekk gale hos oss
server-error-body = Vi klarte ikkje å vise sida. Feilen er registrert. Prøv igjen om litt.
too-large-title = For mykje innhald
too-large-body = Det du sende, var større enn vi tek imot. Prøv med mindre tekst eller mindre filer.
error-reference = Referanse: { $id }
unknown-host-title = Ukjend adresse
unknown-host-body = Denne adressa høyrer ikkje til nokon kommune på denne tenesta.
back-to-front = Gå til framsida

footer-accessibility = Tilgjengeerklæring
footer-source = Bygd på allmenning, open kjeldekode
