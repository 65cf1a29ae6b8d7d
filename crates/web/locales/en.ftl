# English. Every key here must exist in nb.ftl and nn.ftl too (checked by a test).

site-name = { $kommune } municipality
site-tagline = Digital services
skip-to-content = Skip to main content
nav-label = Main menu
nav-home = Home
nav-accessibility = Accessibility
language-switch-label = Choose language
demo-banner = This is a demonstration. Every person and every detail is made up.

front-title = Welcome to { $kommune } municipality
front-lead = { $kommune } municipality gathers its digital services for residents, businesses and volunteers here — with secure login, forms filled in for you, and letters delivered where you read them.
front-notices-heading = Service notices
front-notices-empty = No service notices right now.
front-about-heading = About this service
front-about-body = This service is built on the open platform allmenning. It meets the requirements for universal design and passes information on only where the law allows it.

a11y-title = Accessibility statement
a11y-lead = { $kommune } municipality is responsible for making the digital services on this website accessible to everyone, including people who use a screen reader, magnification or only a keyboard.
a11y-status-heading = Status
a11y-status-body = The website is to meet WCAG 2.1 at level AA, as the Norwegian regulations on universal design of ICT require. Every page is tested automatically in a real browser and with a keyboard before it is put into use.
a11y-known-issues-heading = Known issues
a11y-known-issues-body = We know of no deviations from the requirements at present. If you find one, please tell us.
a11y-feedback-heading = Give feedback
a11y-feedback-intro = Tell us what does not work for you. Leave an e-mail address if you would like a reply.
a11y-supervision-heading = Supervision
a11y-supervision-body = The Authority for Universal Design of ICT supervises compliance with the requirements. You can report to the authority if we do not answer you, or if you are not satisfied with our answer.
a11y-supervision-link = Report to the Authority for Universal Design of ICT
a11y-updated = This statement was last updated on { $date }.

feedback-message-label = What is your feedback about?
feedback-message-description = Describe what did not work, and what you were trying to do.
feedback-page-label = Which page is it about? (optional)
feedback-email-label = E-mail address (optional)
feedback-submit = Send feedback
feedback-received = Thank you! We have received your feedback.
error-summary-heading = Please correct the following before sending:
error-message-required = Write what your feedback is about.
error-message-too-long = Your feedback can be at most { $max } characters long.
error-page-too-long = The page reference can be at most { $max } characters long.
error-contact_email-invalid-email = Enter a valid e-mail address, for example name@example.com.

not-found-title = Page not found
not-found-body = The page you are looking for does not exist or has moved. Check that the address is correct.
server-error-title = Something went wrong on our side
server-error-body = We could not show the page. The error has been logged. Please try again in a little while.
too-large-title = Too much content
too-large-body = What you sent was larger than we accept. Try with less text or smaller files.
error-reference = Reference: { $id }
unknown-host-title = Unknown address
unknown-host-body = This address does not belong to any municipality on this service.
back-to-front = Go to the home page

footer-accessibility = Accessibility statement
footer-source = Built on allmenning, open source
