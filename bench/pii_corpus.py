"""Deterministic generator of a labelled PII corpus (French and English).

Run ``python bench/pii_corpus.py``: it rewrites ``bench/pii_data/{fr,en}_{tune,
holdout}.jsonl`` byte for byte identically on every run (fixed seeds, no clock,
no hash-order dependence), asserts that every gold span is sound and prints, per
split, the number of texts, of distinct templates and the entity counts per type.

Design
------
Every text is rendered from a *template*: a phrasing with slots such as
``{name}``, ``{phone}``, ``{addr}`` or ``{order}``. A slot renders to one or
more *pieces* (text plus an optional gold label), so the gold offsets are
computed while the text is assembled and never searched for afterwards. Slot
values are synthetic (Faker names and IBANs, generated phone numbers checked
with ``phonenumbers``, Luhn / mod-97 identifiers checked with ``python-stdnum``)
and are kept consistent inside one text: the same persona gives the name, the
e-mail derived from it, the birth date, the NIR (sex, year and month of birth)
and the grammatical gender ("né"/"née", "Mme"/"M.").

Four kinds of texts, shuffled together:

* ``mix``: optional opener (32 phrasings per language) + one or two PII clauses
  (8-10 phrasings per entity type) + optional closer (32 phrasings). The clause
  type is picked among the four least-covered types, which keeps the entity
  counts balanced. A part that ends on a value ("IBAN : FR76 ...") is followed
  by a line break, ". ", " – " or a plain space. Template id
  ``fr-mix-o04-tel06-addr02-z12`` (indices into the full lists).
* ``cs``: hand-written customer-service comments (complaints, delivery issues,
  account changes, refund requests, call-backs, agent notes), some informal
  (lower case, no accents, typos) and several multi-sentence.
* ``negmix`` and ``csneg``: the same without PII (about 25 % of the texts), but
  full of look-alikes: order and tracking numbers, amounts, product references,
  invoice numbers, last four card digits, non-birth dates, times, percentages,
  five-digit batch numbers.

About 12 % of the texts are additionally rendered in an informal style (lower
case, accents stripped, a few typos in the literal words); their template id
ends with ``+inf``. The typos never touch a gold span, so offsets stay exact.

Tune and holdout never share a phrasing: every phrasing list (openers, closers,
clauses of each type, neutral clauses, comments) is split by index parity, the
tune split takes the even indices and the holdout split the odd ones; the two
splits also use different random and Faker seeds. Holdout shapes are therefore
never seen while tuning a detector on the tune split.

Label conventions (see ``bench/pii_data/README.md``): titles are outside PERSON
spans, postal code and city are outside STREET_ADDRESS, FR_POSTAL_CODE is the
five digits only and only inside an address or after "code postal"/"CP",
DATE_OF_BIRTH covers the date only and only when it is given as a birth date.
"""

from __future__ import annotations

import calendar
import ipaddress
import json
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import phonenumbers
from faker import Faker
from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.fr import nir as std_nir
from stdnum.fr import siren as std_siren
from stdnum.fr import siret as std_siret
from stdnum.fr import tva as std_tva

OUT_DIR = Path(__file__).resolve().parent / "pii_data"
N_TEXTS = 800  # per language and split
MIN_PER_TYPE = 60
MIN_LEN, MAX_LEN = 70, 300
INFORMAL_RATE = 0.12
SPLITS = ("tune", "holdout")
SEEDS = {
    ("fr", "tune"): 1_100,
    ("fr", "holdout"): 2_200,
    ("en", "tune"): 3_300,
    ("en", "holdout"): 4_400,
}

PERSON = "PERSON"
EMAIL = "EMAIL_ADDRESS"
PHONE = "PHONE_NUMBER"
IBAN = "IBAN_CODE"
CARD = "CREDIT_CARD"
IP = "IP_ADDRESS"
STREET = "STREET_ADDRESS"
POSTAL = "FR_POSTAL_CODE"
DOB = "DATE_OF_BIRTH"
NIR = "FR_NIR"
SIREN = "FR_SIREN"
SIRET = "FR_SIRET"
VAT = "FR_VAT"
EN_TYPES = (PERSON, EMAIL, PHONE, STREET, DOB, CARD, IBAN, IP)
FR_TYPES = (*EN_TYPES, POSTAL, NIR, SIREN, SIRET, VAT)
TYPES = {"fr": FR_TYPES, "en": EN_TYPES}

# Clause group -> the label it is chosen for when balancing the counts.
GROUP_LABEL = {
    "name": PERSON,
    "who": PERSON,
    "mail": EMAIL,
    "tel": PHONE,
    "addr": STREET,
    "cp": POSTAL,
    "dob": DOB,
    "nir": NIR,
    "siren": SIREN,
    "siret": SIRET,
    "tva": VAT,
    "iban": IBAN,
    "card": CARD,
    "ip": IP,
}

DIGITS = "0123456789"
UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def phrasings(block: str) -> list[str]:
    """One phrasing per line; an indented line continues the previous one.

    ``¶`` stands for a line break inside a text.
    """
    items: list[str] = []
    for line in block.strip("\n").splitlines():
        if line.startswith("  "):
            items[-1] += " " + line.strip()
        elif line.strip():
            items.append(line.strip())
    return [re.sub(r"\s*¶\s*", "\n", item) for item in items]


# ---------------------------------------------------------------------------
# French phrasings
# ---------------------------------------------------------------------------

FR_OPENERS = phrasings("""
Bonjour,
Bonjour, je vous contacte au sujet de ma commande n° {order}.
Madame, Monsieur,
Suite à notre échange téléphonique du {date}, voici les informations demandées.
Bonsoir,
Re: commande {order}
Objet : mise à jour de mes informations.
Je reviens vers vous concernant le ticket {ticket}.
Comme convenu lors de l'appel du {date} à {time}, je vous transmets mes infos.
Note conseiller :
Bonjour, petite mise à jour sur mon compte.
Bonjour, j'ai un souci avec la livraison prévue le {date}.
Hello,
Mise à jour du dossier client ({ticket}).
Bonjour, ma commande de {amount} n'est pas conforme.
Demande de modification reçue via le formulaire de contact.
Bonjour, le remboursement de {amount} annoncé le {date} n'est jamais arrivé.
Bonjour, je souhaite modifier mes informations personnelles.
Je fais suite au mail reçu ce matin à {time}.
Réclamation concernant l'article réf. {ref}.
Bonjour, client depuis plus de 10 ans, je suis très déçu.
Appel entrant de {time}, demande de mise à jour.
Bonjour à toute l'équipe,
Bonjour, votre promo de {pct} ne fonctionne pas.
Commentaire laissé sur l'espace client le {date} :
Bonjour, j'ai reçu un article abîmé (commande {order}).
Madame, Monsieur, je me permets de vous relancer.
Bonjour, suite à l'incident n° {ticket}, voici mes coordonnées.
Message transmis par le service client :
Bonjour, je n'arrive plus à accéder à mon compte depuis le {date}.
Bjr,
Bonjour, c'est au sujet du colis {tracking}.
""")

FR_CLOSERS = phrasings("""
Merci d'avance.
Cordialement.
Bonne journée.
Merci de me rappeler avant {time}.
Merci de traiter ma demande rapidement.
Dans l'attente de votre retour, cordialement.
Bien à vous.
Merci pour votre aide !
C'est la deuxième fois que je vous écris.
Je reste disponible du lundi au vendredi.
Merci de confirmer par retour de mail.
Sans réponse sous 48 h, je saisirai le médiateur.
Bonne soirée.
Merci de ne plus utiliser mes anciennes coordonnées.
Cdlt
Je vous remercie par avance de votre compréhension.
Le montant de {amount} doit m'être remboursé.
Ticket à clôturer après vérification.
Merci de votre réactivité.
Salutations.
Urgent svp.
Dossier {ticket} à mettre à jour.
Je compte sur vous.
Merci, bonne fin de journée.
Cordialement, un client mécontent.
À transmettre au service comptabilité.
Rappel prévu le {date} à {time}.
Merci de votre patience.
Sincères salutations.
Bon week-end.
Merci
Je vous remercie.
""")

FR_NEUTRAL = phrasings("""
Ma commande n° {order} n'est toujours pas arrivée.
Le colis {tracking} est bloqué au dépôt depuis le {date}.
J'ai été débité de {amount} au lieu de {amount2}.
La remise de {pct} n'a pas été appliquée sur ma facture.
L'article réf. {ref} est arrivé cassé.
Le livreur est passé à {time} alors que le créneau était l'après-midi.
Je souhaite retourner 2 articles de la commande {order}.
La facture {invoice} du {date} comporte une erreur de {amount}.
Votre site affiche une erreur 504 depuis ce matin.
Le produit {ref} est indiqué en stock mais la commande est annulée.
La livraison était prévue le {date} entre {time} et {time2}.
J'ai reçu la taille 42 au lieu de la 40.
Mon avoir de {amount} expire le {date}.
Le lot {lot} semble défectueux, 3 pièces sur 12 ne fonctionnent pas.
Le remboursement prend plus de 14 jours ouvrés.
La carte se terminant par {last4} a été débitée deux fois.
Le ticket {ticket} a été fermé sans réponse.
Mon abonnement de {amount} par mois a augmenté de {pct}.
L'écran du modèle {ref} clignote depuis la mise à jour 2.4.1.
Le point relais ferme à {time}, impossible de récupérer le colis.
Le code promo BIENVENUE10 est refusé.
Je n'ai reçu que 3 colis sur 4.
Pouvez-vous annuler la commande {order} passée le {date} ?
Le montant prélevé le {date} ne correspond pas ({amount}).
La garantie de 2 ans couvre-t-elle la panne de l'article {ref} ?
Le service client ferme à {time}, c'est trop tôt.
Quel est le délai pour un échange sur la commande {order} ?
Le colis pèse 12,5 kg, les frais de port de {amount} sont abusifs.
L'appli plante à chaque ouverture sur la version 5.2.
Le suivi indique livré le {date} à {time}, mais je n'ai rien reçu.
Le chèque cadeau n° {giftcard} n'est pas accepté.
La TVA à {pct} est mal calculée sur le devis {quote}.
""")

FR_CLAUSES = {
    "name": phrasings("""
Je m'appelle {name} et je suis client{e} chez vous depuis 2019.
Le dossier est au nom de {title} {last}.
C'est {name} qui a passé la commande.
Merci de transmettre ma demande à votre collègue {name}.
La facture doit être établie au nom de {name}.
Mon conjoint, {name2}, est également titulaire du compte.
Le colis a été remis à {title} {last}, au rez-de-chaussée.
Je suis {name}, je vous contacte pour la troisième fois.
Le contrat a été signé par {title} {name} le {date}.
Vous pouvez demander {title} {last} à l'accueil.
"""),
    "who": phrasings("""
Je suis {name}, joignable au {phone}.
Contact : {name}, {email}.
{name} – {phone}
Mes coordonnées : {name}, {addr}.
{title} {last} est joignable à l'adresse {email}.
Merci de rappeler {name} au {phone}.
Coordonnées vérifiées avec {title} {name} : {email}, {phone}.
Expéditeur : {name} <{email}>
"""),
    "mail": phrasings("""
Mon adresse e-mail est {email}.
Vous pouvez me répondre sur {email}.
Merci d'envoyer la facture à {email}.
Je n'ai reçu aucun mail sur {email}.
Nouvelle adresse mail : {email}.
Mon identifiant de connexion est {email}.
Écrivez-moi plutôt à {email}, l'ancienne boîte est fermée.
Le lien de réinitialisation part toujours vers {email}.
Contact : {email}
La confirmation a été envoyée à {email} par erreur.
"""),
    "tel": phrasings("""
Vous pouvez me joindre au {phone}.
Mon numéro de portable a changé : {phone}.
Rappelez-moi au {phone} après {time}.
Tél. : {phone}
Le livreur peut appeler le {phone}.
J'ai essayé de vous appeler depuis le {phone} sans succès.
Numéro fixe : {phone}, ne pas appeler le week-end.
Merci de laisser un message au {phone}.
Le numéro {phone} n'est plus attribué, merci de le supprimer.
Je suis joignable au {phone} jusqu'à {time}.
"""),
    "addr": phrasings("""
Ma nouvelle adresse est {addr}.
Merci de livrer au {addr}.
J'ai déménagé au {addr} depuis le {date}.
Adresse de facturation : {addr}.
Le colis doit partir au {addr}, pas à l'ancienne adresse.
Je réside désormais au {addr}.
Adresse de livraison : {street}, code postal {cp}, {city}.
Livraison au {street} (bâtiment B, 3e étage), {cp} {city}.
Le point relais est trop loin, livrez plutôt au {street} à {city}.
J'habite {street}, CP {cp}.
"""),
    "cp": phrasings("""
Le code postal {cp} n'est pas accepté par votre formulaire.
Mon code postal est le {cp}.
CP : {cp}
Code postal : {cp}, ville : {city}.
Votre site indique que le code postal {cp} n'est pas desservi.
J'ai saisi le code postal {cp} mais la ville ne s'affiche pas.
Le CP {cp} correspond bien à {city}.
Changement de code postal : {cp}.
Ville : {city}, CP {cp}.
Le code postal de livraison est faux, c'est {cp}.
"""),
    "dob": phrasings("""
Je suis {ne} le {dob}.
Date de naissance : {dob}.
Pour vérification, ma date de naissance est le {dob}.
{title} {last}, {ne} le {dob}, souhaite clôturer son compte.
DDN {dob}
Titulaire du compte : {ne} le {dob} à {city}.
Votre formulaire refuse ma date de naissance ({dob}).
{Ne} le : {dob}
Pour l'ouverture du compte : {ne} le {dob}.
Date de naiss. {dob}, merci de corriger l'année.
"""),
    "nir": phrasings("""
Mon numéro de sécurité sociale est le {nir}.
N° de sécu : {nir}
Mon NIR ({nir}) figure sur l'attestation jointe.
Numéro d'assuré social : {nir}.
La mutuelle me demande mon numéro de sécurité sociale : {nir}.
Voici mon n° SS {nir} pour le remboursement.
Le numéro INSEE {nir} est erroné sur ma carte.
Mon numéro de sécu est {nir}, ma carte Vitale est en cours de renouvellement.
Sécurité sociale : {nir}
Pour la prise en charge, mon numéro de sécurité sociale : {nir}.
"""),
    "siren": phrasings("""
Notre SIREN : {siren}.
L'entreprise {company} est immatriculée sous le SIREN {siren}.
siren : {siren}
Numéro SIREN de la société : {siren}.
Nous sommes immatriculés au RCS de {city} sous le numéro {siren}.
Merci d'indiquer notre n° SIREN {siren} sur les factures.
Le SIREN {siren} correspond à notre ancienne raison sociale.
Facturation à {company}, SIREN {siren}.
Vérifiez le numéro SIREN {siren} sur votre devis.
Mon auto-entreprise a le SIREN {siren}.
"""),
    "siret": phrasings("""
SIRET : {siret}
Notre numéro SIRET est le {siret}.
Le SIRET {siret} de notre établissement de {city} doit figurer sur la facture.
Merci de mettre à jour le siret : {siret}.
Établissement secondaire, SIRET {siret}.
Le n° SIRET indiqué ({siret}) est celui du siège.
Votre site refuse notre SIRET {siret}, pourtant valide.
Facture à libeller avec le SIRET {siret}.
siret {siret}
Pour le compte pro, notre SIRET : {siret}.
"""),
    "tva": phrasings("""
Notre numéro de TVA intracommunautaire est {tva}.
TVA intracom : {tva}
N° TVA : {tva}
Merci d'ajouter notre numéro de TVA {tva} sur la facture.
La facture ne mentionne pas notre n° de TVA ({tva}).
Identifiant TVA {tva}, exonération à appliquer.
Numéro de TVA de {company} : {tva}.
TVA : {tva}
Notre numéro de TVA a changé, c'est désormais {tva}.
Le numéro de TVA {tva} est pourtant valide sur VIES.
"""),
    "iban": phrasings("""
Merci de rembourser sur mon IBAN {iban}.
Mon nouvel IBAN : {iban}.
Voici mes coordonnées bancaires : IBAN {iban}.
Le prélèvement doit se faire sur le compte {iban}.
IBAN : {iban}
Le virement a été fait depuis l'IBAN {iban}.
Je vous joins mon RIB, IBAN {iban}, BIC {bic}.
Mes coordonnées bancaires ont changé, nouvel IBAN {iban}.
Le remboursement de {amount} est à verser sur {iban}.
Compte à débiter : {iban}.
"""),
    "card": phrasings("""
J'ai payé avec la carte {card}.
Ma carte {card} a été débitée deux fois.
Le paiement par carte n° {card} a été refusé.
Carte bancaire : {card}, expiration {exp}.
Le débit de {amount} sur ma carte {card} n'est pas de moi.
Merci de recréditer la carte {card}.
Numéro de carte : {card}
J'ai fait opposition sur la carte {card} hier.
La transaction avec la CB {card} apparaît en double.
Pouvez-vous retirer la carte {card} de mon compte ?
"""),
    "ip": phrasings("""
La connexion suspecte venait de l'adresse IP {ip}.
Mon adresse IP est {ip}, elle est bloquée par votre pare-feu.
Le journal indique une tentative depuis {ip} à {time}.
IP : {ip}
Je me connecte depuis {ip} et le site reste bloqué.
Votre système a banni l'IP {ip} par erreur.
Tentatives de connexion échouées depuis {ip}.
L'adresse {ip} n'est pas la mienne.
Accès refusé pour l'adresse IP {ip}.
Connexion inconnue détectée : {ip}.
"""),
}

FR_CS = phrasings("""
Bonjour, je n'ai toujours pas reçu ma commande {order}. Je suis joignable au
  {phone} toute la journée. {name}
bonjour jai demenage, ma nouvelle adresse c'est {addr}. merci de changer pour
  les prochaines livraisons
Le livreur a déposé le colis chez {title} {last} au lieu du {street}. Je n'ai
  rien pu récupérer.
Bonjour, je souhaite être remboursé{e} de {amount} sur mon compte {iban}.
  Commande {order} annulée le {date}. Merci.
{title} {last} a appelé à {time} : sa carte {card} a été débitée deux fois.
  Rappel à faire au {phone}.
Changement d'adresse mail : l'ancienne n'est plus valide, merci d'utiliser
  {email}. Cordialement, {name}
Suite à une tentative de connexion depuis {ip}, le compte de {name} a été
  bloqué. Le client demande un déblocage.
slt c'est {name}, mon colis est jamais arrivé. rappelez moi au {phone} svp
Bonjour, pour finaliser mon dossier mutuelle : {name}, {ne} le {dob}, n° de
  sécu {nir}. Merci.
Nous sommes la société {company}, SIRET {siret}. Merci de corriger la raison
  sociale sur la facture {invoice}.
Facture à refaire : notre numéro de TVA est {tva} et non celui indiqué.
  Contact comptabilité : {email2}.
Bonjour, merci de me rappeler demain entre {time} et {time2} au {phone}.
  C'est pour un problème de facturation.
Client mécontent : {name} attend un remboursement de {amount} depuis le
  {date}. IBAN communiqué : {iban}.
{title} {last} signale que le colis a été laissé devant la porte au {addr}.
  Il a disparu.
Bonjour, je ne reçois plus vos mails sur {email}. Pouvez-vous vérifier ? Mon
  numéro client est le {custno}.
Demande de rappel : {title} {name}, {phone}, au sujet de la résiliation de
  son abonnement.
bonjour je suis {ne} le {dob} et votre site me dit que je suis mineur{e} ???
  merci de corriger
Votre technicien est passé au {street} à {city} mais personne ne m'a
  prévenu. Je suis joignable au {phone}.
Je conteste le prélèvement de {amount} du {date} sur la carte {card}. Je
  n'ai jamais commandé cet article.
Pour la création du compte pro : {company}, SIREN {siren}, TVA {tva}.
  Contact : {name}.
Bonjour, mon conjoint {name2} a passé commande avec mon adresse mail {email}.
  Pouvez-vous dissocier nos comptes ?
ma cb {card} a ete refusee 3 fois alors que jai de l'argent dessus, c'est
  quoi le probleme
Retour d'appel : {name} confirme son adresse de livraison, {addr}. RAS.
Bonjour, j'ai changé de banque. Nouvel IBAN pour les prélèvements : {iban}.
  Ancien compte clôturé le {date}.
Alerte sécurité : connexion inhabituelle depuis l'IP {ip} sur le compte
  {email}. Mot de passe réinitialisé.
Bonjour, voici mon attestation : {title} {name}, numéro de sécurité sociale
  {nir}.¶Adresse : {addr}.
Le colis {tracking} devait arriver le {date}. Personne au {street}, {cp}
  {city} n'a rien reçu. Contact : {phone}.
Merci de rectifier mon nom : c'est {name} et non pas comme écrit sur la
  facture. Mail : {email}
Entreprise {company} (SIRET {siret}) : la livraison de 40 palettes prévue le
  {date} n'a pas eu lieu.
Bonjour, pouvez-vous supprimer mon ancien numéro {phone} et garder
  seulement le {phone2} ?
jai essaye de me connecter depuis {ip} mais ca marche pas, compte {email},
  merci de regarder
{title} {last} ({phone}) souhaite être rappelé{e} au sujet du devis {quote}
  de {amount}.
Bonjour, je suis auto-entrepreneur, SIREN {siren}. Je voudrais une facture à
  ce nom : {name}, {addr}.
Remboursement validé pour {name} : {amount} sur l'IBAN {iban} sous 5 jours
  ouvrés.
Bonjour, mon fils a utilisé ma carte {card} sans autorisation. Merci
  d'annuler la commande {order}.
Date de naissance erronée sur le contrat de {title} {last} : il faut mettre
  {dob}. Le reste est correct.
Livraison impossible : le digicode du {street} a changé. Appeler {title}
  {last} au {phone} avant de passer.
Madame, Monsieur, je vous prie de résilier mon contrat.¶{name}¶{addr}¶
  Tél : {phone}
Bonjour, la mutuelle refuse le remboursement car le NIR {nir} ne correspond
  pas. Pouvez-vous vérifier ?
Le client signale un double débit de {amount}. Carte : {card}. IP de la
  commande : {ip}.
hello, nouvelle adresse: {street} {cp} {city}. et mon tel c'est {phone}.
  merci!
Bonjour, votre facture mentionne un mauvais SIRET. Le bon est {siret}.
  Merci, {name}, service achats.
Pouvez-vous envoyer le formulaire de rétractation à {email} ? Je ne suis pas
  chez moi avant le {date}.
Bonjour. Je soussigné{e} {name}, {ne} le {dob} à {city}, demande la
  suppression de toutes mes données (RGPD).
On m'a raccroché au nez deux fois ! Rappelez-moi au {phone} ou écrivez à
  {email}.
Bonjour, le virement de {amount} a été fait depuis le compte {iban} le
  {date}. Merci de valider la commande {order}.
Nouveau contact facturation pour {company} : {name}, {email2}, {phone}.
Je confirme l'adresse : {street}, code postal {cp}. La ville est bien
  {city}.
bonjour, c moi {name} jai pas recu le rembourssement de {amount}, mon iban c
  {iban}
Tentatives de paiement refusées depuis l'adresse IP {ip}. Carte utilisée :
  {card}. Compte suspendu par précaution.
Merci d'indiquer notre TVA intracommunautaire {tva} et notre SIREN {siren}
  sur toutes les factures.
Bonjour, je m'appelle {name}. J'ai reçu un colis qui ne m'est pas destiné,
  adressé à {name2}, au {street}.
Pour le remboursement des soins : {name}, sécurité sociale {nir}, IBAN
  {iban}.
Colis refusé par {title} {last} le {date} à {time} : emballage abîmé.
  Renvoyer au {addr}.
Bonjour, je vous contacte pour {title} {last}, qui n'a pas d'adresse mail.
  Son numéro : {phone}.
Relance n°3 : j'attends toujours le remboursement sur ma carte {card}.
  Commande {order} du {date}.
mon adresse ip c'est {ip} je pense, le site dit acces refuse depuis hier
Inscription au programme fidélité : {name}, {ne} le {dob}, {email}.
Bonjour, notre nouvelle adresse de facturation : {company}, {street}, {cp}
  {city}. SIRET inchangé : {siret}.
Le livreur a appelé le {phone} mais c'est le numéro de mon ancien logement.
  Merci de noter : {phone2}.
Service fraude : connexions au compte {email} depuis {ip} puis {ip2} en dix
  minutes.
""")

FR_CS_NEG = phrasings("""
Bonjour, ma commande {order} est arrivée incomplète : il manque 2 articles
  sur 5. Merci de renvoyer le reste.
Le colis {tracking} est indiqué livré le {date} à {time} mais je n'ai rien
  reçu. Que faire ?
J'ai été prélevé de {amount} au lieu de {amount2}. Merci de corriger et de
  me rembourser la différence.
Votre code promo de {pct} ne marche pas sur l'article {ref}. C'est de la
  publicité mensongère.
bonjour la livraison est prevue le {date} mais je serai absent, on peut
  decaler ? commande {order}
Le remboursement de la facture {invoice} ({amount}) n'apparaît toujours pas
  sur mon compte.
Rappel effectué à {time}, client absent. Nouvel essai prévu le {date}.
  Ticket {ticket}.
L'aspirateur réf. {ref} acheté le {date} ne charge plus. Il est encore sous
  garantie (2 ans).
Je voudrais échanger la taille M contre une taille L, commande {order}.
  Merci.
Votre service client ne répond jamais avant {time}. J'attends depuis 45
  minutes au téléphone !
Le devis {quote} de {amount} HT a expiré le {date}. Pouvez-vous le
  renouveler au même tarif ?
Commande {order} : 3 colis sur 4 reçus, le dernier est bloqué au centre de
  tri depuis le {date}.
trop decu, article {ref} casse a la livraison, je veux un remboursement
  complet ({amount})
Lot {lot} défectueux : merci de rappeler tous les produits concernés avant
  le {date}.
Le prix est passé de {amount} à {amount2} en une semaine, soit +{pct}.
  Pourquoi ?
Bonjour, est-ce que le produit {ref} est compatible avec la version 3.2 ?
  Merci d'avance.
Le point relais a fermé le {date}, mon colis {tracking} a été retourné à
  l'expéditeur.
Incident {ticket} résolu : remboursement de {amount} effectué le {date}.
La facture {invoice} indique une TVA à {pct} au lieu de 5,5 %. Merci de
  corriger.
Bonjour, la carte cadeau {giftcard} affiche un solde de 0 € alors que
  j'avais {amount} dessus.
J'ai commandé le {date} à {time}, toujours rien expédié. Numéro de commande
  {order}.
Mon abonnement a été renouvelé automatiquement le {date} pour {amount}. Je
  veux l'annuler.
""")

# ---------------------------------------------------------------------------
# English phrasings
# ---------------------------------------------------------------------------

EN_OPENERS = phrasings("""
Hi,
Hello, I'm writing about order {order}.
Dear Sir or Madam,
Following our phone call on {date}, here are the details you asked for.
Good evening,
Re: order {order}
Subject: update to my account details.
I'm following up on ticket {ticket}.
As agreed during the call on {date} at {time}, please find my details below.
Agent note:
Hi there, quick update on my account.
Hello, I have a problem with the delivery scheduled for {date}.
Hey,
Customer record update ({ticket}).
Hi, my {amount} order was not what I ordered.
Request received via the contact form.
Hello, the {amount} refund promised on {date} never arrived.
Hi, I would like to change my personal details.
Further to the email I received this morning at {time}:
Complaint about item ref. {ref}.
Hello, I've been a customer for over 10 years and I'm very disappointed.
Inbound call at {time}, customer asked for an update.
Hello team,
Hi, your {pct} discount code doesn't work.
Comment left in the customer portal on {date}:
Hi, I received a damaged item (order {order}).
Dear Customer Services, I am chasing this up again.
Hello, regarding incident {ticket}, here are my details.
Message forwarded by the support desk:
Hi, I haven't been able to log in since {date}.
hiya,
Hello, this is about parcel {tracking}.
""")

EN_CLOSERS = phrasings("""
Thanks in advance.
Kind regards.
Have a nice day.
Please call me back before {time}.
Please deal with this quickly.
I look forward to hearing from you.
Best wishes.
Thanks for your help!
This is the second time I've written to you.
I'm available Monday to Friday.
Please confirm by email.
If I don't hear back within 48 hours I will escalate this.
Have a good evening.
Please stop using my old details.
Cheers
Thank you for your understanding.
I expect a refund of {amount}.
Ticket can be closed once checked.
Thanks for the quick response.
Regards.
Urgent please.
Ticket {ticket} to be updated.
I'm counting on you.
Thanks, have a good afternoon.
Yours, an unhappy customer.
Please pass this on to the billing team.
Callback booked for {date} at {time}.
Thanks for your patience.
Yours faithfully.
Have a good weekend.
thx
Many thanks.
""")

EN_NEUTRAL = phrasings("""
My order {order} still hasn't arrived.
Parcel {tracking} has been stuck at the depot since {date}.
I was charged {amount} instead of {amount2}.
The {pct} discount wasn't applied to my invoice.
Item ref. {ref} arrived broken.
The courier came at {time} even though the slot was in the afternoon.
I want to return 2 items from order {order}.
Invoice {invoice} dated {date} has a {amount} error.
Your website has shown a 504 error since this morning.
Product {ref} shows as in stock but my order was cancelled.
Delivery was due on {date} between {time} and {time2}.
I received a size 12 instead of a size 10.
My {amount} store credit expires on {date}.
Batch {lot} looks faulty, 3 out of 12 units don't work.
The refund is taking more than 14 working days.
The card ending in {last4} was charged twice.
Ticket {ticket} was closed without a reply.
My {amount} monthly subscription went up by {pct}.
The screen on model {ref} has flickered since update 2.4.1.
The pickup point closes at {time}, I can't collect the parcel.
The promo code WELCOME10 is rejected.
I only received 3 parcels out of 4.
Can you cancel order {order} placed on {date}?
The amount taken on {date} doesn't match ({amount}).
Does the 2-year warranty cover the fault on item {ref}?
Customer service closes at {time}, that's too early.
How long do I have to exchange order {order}?
The parcel weighs 12.5 kg, {amount} for shipping is outrageous.
The app crashes every time I open it on version 5.2.
Tracking says delivered on {date} at {time}, but nothing arrived.
Gift card {giftcard} isn't accepted.
Quote {quote} still shows {pct} VAT instead of zero.
""")

EN_CLAUSES = {
    "name": phrasings("""
My name is {name} and I've been a customer since 2019.
The account is in the name of {title} {last}.
It was {name} who placed the order.
Please pass my request on to your colleague {name}.
The invoice should be made out to {name}.
My partner, {name2}, is also on the account.
The parcel was signed for by {title} {last}, a neighbour.
This is {name}, contacting you for the third time.
The contract was signed by {title} {name} on {date}.
You can ask for {title} {last} at reception.
"""),
    "who": phrasings("""
This is {name}, you can reach me on {phone}.
Contact: {name}, {email}.
{name} – {phone}
My details: {name}, {addr}.
Customer {title} {last} can be reached at {email}.
Please call {name} back on {phone}.
Details confirmed with {title} {name}: {email}, {phone}.
Sender: {name} <{email}>
"""),
    "mail": phrasings("""
My email address is {email}.
You can reply to {email}.
Please send the invoice to {email}.
I haven't received any emails at {email}.
New email address: {email}.
My login is {email}.
Please write to {email} instead, the old mailbox is closed.
The password reset link keeps going to {email}.
Email: {email}
The confirmation was sent to {email} by mistake.
"""),
    "tel": phrasings("""
You can reach me on {phone}.
My mobile number has changed: {phone}.
Call me back on {phone} after {time}.
Tel: {phone}
The driver can call {phone}.
I tried calling you from {phone} with no luck.
Landline: {phone}, please don't call at weekends.
Please leave a message on {phone}.
The number {phone} is no longer mine, please remove it.
I'm reachable at {phone} until {time}.
"""),
    "addr": phrasings("""
My new address is {addr}.
Please deliver to {addr}.
I moved to {addr} on {date}.
Billing address: {addr}.
The parcel must go to {addr}, not the old address.
I now live at {addr}.
Delivery address: {street}, {city}.
Please leave it at {street} (side door, 2nd floor).
The parcel locker is too far, deliver to {street} instead.
I live at {street}, near the station.
"""),
    "dob": phrasings("""
I was born on {dob}.
Date of birth: {dob}.
For verification, my date of birth is {dob}.
{title} {last}, born {dob}, wants to close the account.
DOB: {dob}
The account holder was born on {dob} in {city}.
Your form rejects my date of birth ({dob}).
D.O.B. {dob}
To open the account: date of birth {dob}.
My date of birth is {dob}, please fix the year.
"""),
    "card": phrasings("""
I paid with card {card}.
My card {card} was charged twice.
The payment with card number {card} was declined.
Card: {card}, expiry {exp}.
The {amount} charge on my card {card} wasn't me.
Please refund card {card}.
Card number: {card}
I cancelled card {card} yesterday.
The transaction on {card} shows up twice.
Can you remove card {card} from my account?
"""),
    "iban": phrasings("""
Please refund to my IBAN {iban}.
My new IBAN: {iban}.
Here are my bank details: IBAN {iban}.
The direct debit should come from account {iban}.
IBAN: {iban}
The transfer was made from IBAN {iban}.
My bank details are IBAN {iban}, BIC {bic}.
I've changed banks, new IBAN {iban}.
The {amount} refund should be paid to {iban}.
Account to debit: {iban}.
"""),
    "ip": phrasings("""
The suspicious login came from IP address {ip}.
My IP address is {ip} and your firewall blocks it.
The log shows an attempt from {ip} at {time}.
IP: {ip}
I'm connecting from {ip} and the site is still blocked.
Your system banned IP {ip} by mistake.
Failed login attempts from {ip}.
The address {ip} is not mine.
Access denied for IP address {ip}.
Unknown login detected: {ip}.
"""),
}

EN_CS = phrasings("""
Hi, I still haven't received order {order}. I'm reachable on {phone} all day.
  {name}
hi i moved house, new address is {addr}. pls update it for the next
  deliveries thx
The courier left the parcel with {title} {last} instead of at {street}. I
  couldn't get it back.
Hello, I'd like a refund of {amount} to my account {iban}. Order {order} was
  cancelled on {date}. Thanks.
{title} {last} called at {time}: card {card} was charged twice for the same
  order. Call back on {phone}.
Email change: the old one no longer works, please use {email}. Kind regards,
  {name}
After a login attempt from {ip}, the account of {name} was locked. Customer
  is asking for it to be unlocked.
hey its {name}, my parcel never turned up. call me back on {phone} asap
Hello, to complete my insurance file: {name}, born {dob}. Please confirm
  receipt to {email}.
Please call me tomorrow between {time} and {time2} on {phone}. It's about a
  billing problem.
Unhappy customer: {name} has been waiting for a {amount} refund since
  {date}. IBAN provided: {iban}.
{title} {last} reports the parcel was left outside the door at {addr}. It
  has disappeared.
Hi, I no longer get your emails at {email}. Could you check? My customer
  number is {custno}.
Callback request: {title} {name}, {phone}, about cancelling the
  subscription.
hi my date of birth is {dob} and ur website says im under 18??? pls fix
Your engineer came to {street} in {city} but nobody told me. You can reach
  me on {phone}.
I dispute the {amount} charge of {date} on card {card}. I never ordered this
  item.
My partner {name2} ordered using my email address {email}. Can you split
  our accounts?
my card {card} got declined 3 times and there's money on it, whats going on
Call-back note: customer {name} confirmed delivery address {addr}. Nothing
  else to report.
Hello, I've switched banks. New IBAN for direct debits: {iban}. Old account
  closed on {date}.
Security alert: unusual login from IP {ip} on account {email}. Password has
  been reset.
Parcel {tracking} was due on {date}. Nobody at {street}, {city} received
  anything. Contact: {phone}.
Please correct my name: it's {name}, not what's printed on the invoice.
  Email: {email}
Could you remove my old number {phone} and keep only {phone2}?
tried to log in from {ip} but it doesnt work, account {email}, can u have a
  look
{title} {last} ({phone}) would like a call back about quote {quote} for
  {amount}.
Refund approved for {name}: {amount} to IBAN {iban} within 5 working days.
Hello, my son used my card {card} without permission. Please cancel order
  {order}.
Wrong date of birth on the contract of {title} {last}: it should be {dob}.
  Everything else is correct.
Delivery failed: the door code at {street} has changed. Call {title} {last}
  on {phone} before coming.
Dear Sir or Madam, please cancel my contract.¶{name}¶{addr}¶Tel: {phone}
Customer reports a double charge of {amount}. Card: {card}. Order IP: {ip}.
hiya new address: {street}, {city}. and my number is {phone}. cheers!
Could you send the cancellation form to {email}? I'm not home until {date}.
Hello. I am {name}, born on {dob}. I am requesting deletion of all my
  personal data (GDPR).
I got hung up on twice! Call me back on {phone} or email {email}.
Hello, the {amount} transfer was made from account {iban} on {date}. Please
  release order {order}.
New billing contact for {company}: {name}, {email2}, {phone}.
I confirm the address: {street}, {city}. Please don't send anything to the
  old one.
hi its {name} i never got my refund of {amount}, my iban is {iban}
Declined payment attempts from IP address {ip}. Card used: {card}. Account
  suspended as a precaution.
Hello, my name is {name}. I received a parcel that isn't mine, addressed to
  {name2} at {street}.
Parcel refused by {title} {last} on {date} at {time}: damaged packaging.
  Return to {addr}.
Hi, I'm writing on behalf of {title} {last}, who doesn't use email. Their
  number: {phone}.
Third reminder: I'm still waiting for the refund to my card {card}. Order
  {order} of {date}.
my ip is {ip} i think, the site says access denied since yesterday
Loyalty scheme sign-up: {name}, date of birth {dob}, {email}.
The driver called {phone} but that's my old flat. Please note: {phone2}.
Agent note: {title} {name} verified with DOB {dob} and postcode. Address
  updated to {street}.
Hi, can you update the cardholder name on card {card} to {name}? Thanks.
Fraud team: logins for {email} came from {ip} and {ip2} within ten minutes.
hello, i'm {name} and i was born {dob}, can i still get the student
  discount? lol
Please send the replacement to {addr}. Ring {phone} if nobody answers the
  door.
Bank details for the refund: {name}, IBAN {iban}, BIC {bic}.
Hi, I booked an engineer for {date} at {street}. Please confirm by text on
  {phone}.
""")

EN_CS_NEG = phrasings("""
Hello, order {order} arrived incomplete: 2 of the 5 items are missing.
  Please send the rest.
Parcel {tracking} shows as delivered on {date} at {time} but I got nothing.
  What now?
I was charged {amount} instead of {amount2}. Please correct it and refund the
  difference.
Your {pct} promo code doesn't work on item {ref}. That's false advertising.
hi delivery is booked for {date} but i'll be out, can we move it? order
  {order}
The refund for invoice {invoice} ({amount}) still isn't showing on my
  account.
Called back at {time}, customer not available. Next attempt on {date}.
  Ticket {ticket}.
The vacuum cleaner ref. {ref} bought on {date} won't charge. It's still under
  warranty (2 years).
I'd like to swap the size M for a size L, order {order}. Thank you.
Your customer service never answers before {time}. I've been on hold for 45
  minutes!
Quote {quote} for {amount} ex VAT expired on {date}. Can you renew it at the
  same price?
Order {order}: 3 of 4 parcels received, the last one is stuck at the sorting
  centre since {date}.
so disappointed, item {ref} broken on arrival, i want a full refund
  ({amount})
Batch {lot} is faulty: please recall all affected products before {date}.
The price went from {amount} to {amount2} in one week, that's +{pct}. Why?
Hello, is product {ref} compatible with version 3.2? Thanks in advance.
The pickup point closed on {date}, my parcel {tracking} went back to the
  sender.
Incident {ticket} resolved: refund of {amount} issued on {date}.
Invoice {invoice} shows {pct} VAT instead of 5%. Please correct it.
Hi, gift card {giftcard} shows a zero balance but I had {amount} on it.
I ordered on {date} at {time} and nothing has shipped yet. Order number
  {order}.
My subscription renewed automatically on {date} for {amount}. I want to
  cancel it.
""")

PHRASES = {
    "fr": {
        "openers": FR_OPENERS,
        "closers": FR_CLOSERS,
        "neutral": FR_NEUTRAL,
        "clauses": FR_CLAUSES,
        "cs": FR_CS,
        "csneg": FR_CS_NEG,
    },
    "en": {
        "openers": EN_OPENERS,
        "closers": EN_CLOSERS,
        "neutral": EN_NEUTRAL,
        "clauses": EN_CLAUSES,
        "cs": EN_CS,
        "csneg": EN_CS_NEG,
    },
}


def items(text: str) -> list[str]:
    """A comma-separated list of values."""
    return [item.strip() for item in text.split(",")]


# ---------------------------------------------------------------------------
# Value lists (shared by both splits: they are values, not sentence shapes)
# ---------------------------------------------------------------------------

FR_CITIES = items(
    "Paris, Lyon, Marseille, Toulouse, Nantes, Lille, Bordeaux, Rennes, Strasbourg, "
    "Montpellier, Nice, Grenoble, Dijon, Angers, Reims, Toulon, Brest, Limoges, "
    "Tours, Amiens, Metz, Besançon, Perpignan, Orléans, Caen, Rouen, Nancy, Pau, "
    "Mulhouse, Poitiers, Avignon, Ajaccio, Bastia, Annecy, Chambéry, Valence, "
    "Nîmes, Vannes, Quimper, Lorient, Bayonne, Colmar, Troyes, Chartres, Cherbourg, "
    "Niort, Albi, Clermont-Ferrand, Aix-en-Provence, Villeurbanne, Le Mans, La "
    "Rochelle"
)
FR_STREET_TYPES = [
    ("rue", 30),
    ("avenue", 10),
    ("av.", 4),
    ("boulevard", 6),
    ("bd", 4),
    ("place", 4),
    ("chemin", 4),
    ("impasse", 4),
    ("quai", 3),
    ("cours", 3),
    ("route", 3),
    ("allée", 4),
]
FR_STREET_NAMES = items(
    "de la Paix, Victor Hugo, du Moulin, des Lilas, Pasteur, de la République, Jean "
    "Jaurès, Foch, du Général Leclerc, Gambetta, de Verdun, des Tilleuls, du Stade, "
    "de l'Église, des Écoles, de la Gare, du Château, des Vignes, Émile Zola, Jean "
    "Moulin, de Bretagne, de Strasbourg, Haussmann, Voltaire, Carnot, "
    "Denfert-Rochereau, de la Liberté, Paul Bert, des Acacias, des Peupliers, du "
    "Port, de la Mairie, Lafayette, Marcel Pagnol, Anatole France, Pierre Curie, "
    "des Marronniers, du Commerce, de la Fontaine, des Cerisiers"
)
FR_COMPANIES = items(
    "Boulangerie du Centre, Transports Rapides, Atelier Lumière, Menuiserie des "
    "Alpes, Garage de la Gare, Imprimerie Moderne, Fromagerie des Trois Vallées, "
    "Pharmacie du Marché, Cabinet Horizon Conseil, Électricité Services Plus, Les "
    "Jardins de Provence, Optique Vision Nord"
)
FR_EMAIL_DOMAINS = items(
    "gmail.com, orange.fr, free.fr, laposte.net, hotmail.fr, wanadoo.fr, yahoo.fr, "
    "sfr.fr, outlook.fr, icloud.com, protonmail.com"
)
FR_MONTHS = items(
    "janvier, février, mars, avril, mai, juin, juillet, août, septembre, octobre, "
    "novembre, décembre"
)
EN_MONTHS = items(
    "January, February, March, April, May, June, July, August, September, October, "
    "November, December"
)
US_CITIES = [
    ("New York", "NY"),
    ("Chicago", "IL"),
    ("Houston", "TX"),
    ("Phoenix", "AZ"),
    ("Seattle", "WA"),
    ("Denver", "CO"),
    ("Boston", "MA"),
    ("Portland", "OR"),
    ("Atlanta", "GA"),
    ("Miami", "FL"),
    ("San Diego", "CA"),
    ("Minneapolis", "MN"),
    ("Philadelphia", "PA"),
    ("Baltimore", "MD"),
    ("Cleveland", "OH"),
    ("Nashville", "TN"),
    ("Washington", "DC"),
]
UK_CITIES = items(
    "London, Manchester, Birmingham, Leeds, Glasgow, Bristol, Liverpool, Sheffield, "
    "Edinburgh, Cardiff, Leicester, Nottingham, Brighton, Oxford, Cambridge, York"
)
EN_STREET_NAMES = items(
    "Baker, Elm, Oak, Maple, Main, High, Church, Station, Park, Mill, Cedar, Pine, "
    "Lake, Hill, Victoria, Queen, Fifth, Second, Pennsylvania, Sunset, Market, "
    "Broad, Chestnut, Walnut, Willow, Bridge, Orchard, Riverside, Union, Highland, "
    "Grove, Kensington, Abbey, Downing"
)
EN_STREET_TYPES = [
    ("Street", 20),
    ("St.", 5),
    ("St", 4),
    ("Avenue", 8),
    ("Ave", 4),
    ("Ave.", 2),
    ("Road", 10),
    ("Rd", 3),
    ("Lane", 5),
    ("Drive", 5),
    ("Boulevard", 2),
    ("Blvd", 2),
    ("Court", 2),
    ("Place", 2),
    ("Way", 3),
    ("Close", 3),
    ("Crescent", 2),
    ("Terrace", 2),
]
EN_COMPANIES = items(
    "Northwind Traders, Bluebird Logistics, Acme Office Supply, Riverside Bakery, "
    "Summit Plumbing, Greenleaf Landscaping, Brightside Dental, Harbor Freight "
    "Lines, Oakwood Furniture, Pioneer Print Works"
)
EN_EMAIL_DOMAINS = {
    "US": ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com"],
    "GB": [
        "gmail.com",
        "hotmail.co.uk",
        "btinternet.com",
        "outlook.com",
        "yahoo.co.uk",
    ],
}
UK_AREA_CODES = ["20", "161", "121", "113", "117", "131", "141", "29", "7"]


# ---------------------------------------------------------------------------
# Value generators
# ---------------------------------------------------------------------------


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(DIGITS) for _ in range(n))


def letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(UPPER) for _ in range(n))


def weighted(rng: random.Random, options: list[tuple[str, int]]) -> str:
    values, weights = zip(*options, strict=True)
    return rng.choices(values, weights=weights)[0]


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def valid_phone(text: str, region: str) -> bool:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number_for_region(number, region)


def fr_phone(rng: random.Random) -> str:
    national = ""
    while not valid_phone(national, "FR"):
        national = "0" + rng.choice("1234566667799") + digits(rng, 8)
    pairs = [national[i : i + 2] for i in range(0, 10, 2)]
    formats = [
        (" ".join(pairs), 35),
        (".".join(pairs), 12),
        (national, 14),
        (f"+33 {national[1]} {national[2:4]} {' '.join(pairs[2:])}", 17),
        (f"+33 (0){national[1]} {national[2:4]} {' '.join(pairs[2:])}", 8),
        ("-".join(pairs), 8),
        ("+33" + national[1:], 4),
    ]
    text = weighted(rng, formats)
    assert valid_phone(text, "FR"), text
    return text


def us_phone(rng: random.Random) -> str:
    national = ""
    while not valid_phone(national, "US"):
        area = rng.choice("23456789") + rng.choice("01234578") + rng.choice(DIGITS)
        national = area + rng.choice("23456789") + digits(rng, 6)
    a, b, c = national[:3], national[3:6], national[6:]
    formats = [
        (f"({a}) {b}-{c}", 35),
        (f"{a}-{b}-{c}", 30),
        (f"+1 {a} {b} {c}", 15),
        (f"{a}.{b}.{c}", 10),
        (f"+1 ({a}) {b}-{c}", 10),
    ]
    text = weighted(rng, formats)
    assert valid_phone(text, "US"), text
    return text


def uk_phone(rng: random.Random) -> str:
    nsn = ""
    while not valid_phone("0" + nsn, "GB"):
        code = rng.choice(UK_AREA_CODES)
        if code == "7":
            nsn = "7" + rng.choice("4578") + digits(rng, 8)
        elif len(code) == 2:
            nsn = code + rng.choice("378") + digits(rng, 7)
        else:
            nsn = code + rng.choice("23456789") + digits(rng, 6)
    if nsn.startswith("7"):
        head, tail = nsn[:4], nsn[4:]
    elif nsn[:2] in ("20", "29"):
        head, tail = nsn[:2], f"{nsn[2:6]} {nsn[6:]}"
    else:
        head, tail = nsn[:3], f"{nsn[3:6]} {nsn[6:]}"
    text = f"+44 {head} {tail}" if rng.random() < 0.3 else f"0{head} {tail}"
    assert valid_phone(text, "GB"), text
    return text


def group(text: str, size: int = 4, sep: str = " ") -> str:
    return sep.join(text[i : i + size] for i in range(0, len(text), size))


def iban_value(rng: random.Random, faker: Faker) -> str:
    number = faker.iban()
    assert std_iban.is_valid(number), number
    return group(number) if rng.random() < 0.7 else number


def card_value(rng: random.Random) -> str:
    kind = weighted(rng, [("visa", 50), ("mc", 35), ("amex", 15)])
    if kind == "visa":
        body = "4" + digits(rng, 14)
    elif kind == "mc":
        prefix = rng.choice(
            ["51", "52", "53", "54", "55", str(rng.randint(2221, 2720))]
        )
        body = prefix + digits(rng, 15 - len(prefix))
    else:
        body = rng.choice(["34", "37"]) + digits(rng, 12)
    number = body + luhn.calc_check_digit(body)
    assert luhn.is_valid(number), number
    style = rng.random()
    if style < 0.25:
        return number
    if kind == "amex":
        return f"{number[:4]} {number[4:10]} {number[10:]}"
    return group(number, 4, "-" if style < 0.45 else " ")


def ip_value(rng: random.Random, faker: Faker) -> str:
    roll = rng.random()
    if roll < 0.1:
        return str(ipaddress.IPv6Address(faker.ipv6()))
    if roll < 0.3:
        return faker.ipv4_private()
    return faker.ipv4_public()


def nir_value(rng: random.Random, sex: str, born: date) -> str:
    roll = rng.random()
    if roll < 0.12:
        place = rng.choice(["2A", "2B"]) + f"{rng.randint(1, 366):03d}"
    elif roll < 0.18:
        place = f"97{rng.randint(1, 6)}{rng.randint(1, 34):02d}"
    else:
        dept = rng.choice([d for d in range(1, 96) if d != 20])
        place = f"{dept:02d}{rng.randint(1, 900):03d}"
    body = f"{sex}{born.year % 100:02d}{born.month:02d}{place}{rng.randint(1, 999):03d}"
    numeric = body[:5] + {"2A": "19", "2B": "18"}.get(body[5:7], body[5:7]) + body[7:]
    number = f"{body}{97 - int(numeric) % 97:02d}"
    assert std_nir.is_valid(number), number
    if rng.random() < 0.5:
        return number
    n = number
    return f"{n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:10]} {n[10:13]} {n[13:]}"


def siren_number(rng: random.Random) -> str:
    body = rng.choice("123456789") + digits(rng, 7)
    number = body + luhn.calc_check_digit(body)
    assert std_siren.is_valid(number), number
    return number


def siret_number(rng: random.Random) -> str:
    if rng.random() < 0.1:  # La Poste: digit sum multiple of 5 instead of Luhn
        number = ""
        while not std_siret.is_valid(number):
            number = "356000000" + digits(rng, 5)
        return number
    body = siren_number(rng) + digits(rng, 4)
    number = body + luhn.calc_check_digit(body)
    assert std_siret.is_valid(number), number
    return number


def tva_number(rng: random.Random) -> str:
    siren = siren_number(rng)
    number = f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"
    assert std_tva.is_valid(number), number
    return number


def ordinal(day: int) -> str:
    if 10 <= day % 100 <= 20:
        return f"{day}th"
    return f"{day}{({1: 'st', 2: 'nd', 3: 'rd'}).get(day % 10, 'th')}"


def fr_date(rng: random.Random, d: date, *, short_year: bool = True) -> str:
    day = "1er" if d.day == 1 else str(d.day)
    options = [
        (f"{d.day:02d}/{d.month:02d}/{d.year}", 40),
        (f"{day} {FR_MONTHS[d.month - 1]} {d.year}", 25),
        (f"{d.year}-{d.month:02d}-{d.day:02d}", 9),
        (f"{d.day:02d}-{d.month:02d}-{d.year}", 8),
        (f"{d.day}/{d.month}/{d.year}", 8),
        (f"{d.day:02d}.{d.month:02d}.{d.year % 100:02d}", 10 if short_year else 0),
    ]
    return weighted(rng, options)


def en_date(rng: random.Random, d: date, region: str) -> str:
    month = EN_MONTHS[d.month - 1]
    if region == "US":
        options = [
            (f"{month} {d.day}, {d.year}", 35),
            (f"{d.month:02d}/{d.day:02d}/{d.year}", 30),
            (f"{d.month}/{d.day}/{d.year}", 15),
            (f"{d.year}-{d.month:02d}-{d.day:02d}", 10),
            (f"{month[:3]} {d.day}, {d.year}", 10),
        ]
    else:
        options = [
            (f"{d.day:02d}/{d.month:02d}/{d.year}", 35),
            (f"{d.day} {month} {d.year}", 30),
            (f"{ordinal(d.day)} {month} {d.year}", 15),
            (f"{d.day:02d}.{d.month:02d}.{d.year}", 10),
            (f"{d.year}-{d.month:02d}-{d.day:02d}", 10),
        ]
    return weighted(rng, options)


def random_date(rng: random.Random, first_year: int, last_year: int) -> date:
    year = rng.randint(first_year, last_year)
    month = rng.randint(1, 12)
    return date(year, month, rng.randint(1, calendar.monthrange(year, month)[1]))


def email_local(rng: random.Random, first: str, last: str, born: date) -> str:
    f = re.sub(r"[^a-z-]", "", strip_accents(first).lower())
    s = re.sub(r"[^a-z-]", "", strip_accents(last).lower())
    options = [
        (f"{f}.{s}", 35),
        (f"{f[0]}{s}", 15),
        (f"{f}{s}{rng.randint(1, 99)}", 12),
        (f"{s}.{f}", 10),
        (f"{f}_{s}", 8),
        (f"{f}{born.year % 100:02d}", 8),
        (f"{f[0]}.{s}{born.year}", 7),
        (f"{f}-{s}".replace("--", "-"), 5),
    ]
    return weighted(rng, options)


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A rendered fragment; ``kind`` drives the informal style transform."""

    text: str
    label: str | None = None
    kind: str = "lit"  # lit (template words), name, place, code


@dataclass
class Persona:
    female: bool
    first: str
    last: str
    upper_last: bool
    born: date
    title: str

    @property
    def last_display(self) -> str:
        return self.last.upper() if self.upper_last else self.last


@dataclass
class World:
    """Random sources for one language and split."""

    lang: str
    split: str
    seed: int
    rng: random.Random = field(init=False)
    fakers: dict[str, Faker] = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.fakers = {}
        for offset, locale in enumerate(
            ["fr_FR", "en_US", "en_GB", "de_DE", "es_ES", "nl_BE"]
        ):
            faker = Faker(locale)
            faker.seed_instance(self.seed * 10 + offset)
            self.fakers[locale] = faker


class Text:
    """Slot values for one text, cached so that a slot repeats consistently."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.rng
        self.lang = world.lang
        self.region = "FR" if self.lang == "fr" else self.rng.choice(["US", "GB"])
        self.cache: dict[str, list[Piece]] = {}
        self.people: dict[int, Persona] = {}

    @property
    def faker(self) -> Faker:
        return self.world.fakers[
            {"FR": "fr_FR", "US": "en_US", "GB": "en_GB"}[self.region]
        ]

    def slot(self, name: str) -> list[Piece]:
        if name not in self.cache:
            self.cache[name] = SLOTS[name](self)
        return self.cache[name]

    def person(self, index: int) -> Persona:
        if index not in self.people:
            self.people[index] = self._new_person()
        return self.people[index]

    def _new_person(self) -> Persona:
        female = self.rng.random() < 0.5
        first = (
            self.faker.first_name_female() if female else self.faker.first_name_male()
        )
        if self.lang == "fr":
            titles = (
                ["Mme", "Madame", "Mme", "Dr"]
                if female
                else ["M.", "Monsieur", "M.", "Dr"]
            )
        else:
            titles = (
                ["Mrs", "Ms", "Ms.", "Miss", "Dr"]
                if female
                else ["Mr", "Mr.", "Mr", "Dr"]
            )
        upper_rate = 0.15 if self.lang == "fr" else 0.04
        return Persona(
            female=female,
            first=first,
            last=self.faker.last_name(),
            upper_last=self.rng.random() < upper_rate,
            born=random_date(self.rng, 1940, 2005),
            title=self.rng.choice(titles),
        )


def lit(text: str) -> Piece:
    return Piece(text)


def code(text: str) -> Piece:
    return Piece(text, None, "code")


def full_name(t: Text, index: int) -> list[Piece]:
    p = t.person(index)
    return [Piece(f"{p.first} {p.last_display}", PERSON, "name")]


def fr_street(t: Text) -> str:
    rng = t.rng
    number = str(rng.randint(1, 180))
    if rng.random() < 0.1:
        number += " " + rng.choice(["bis", "ter"])
    if rng.random() < 0.1:
        number += ","
    name = rng.choice(FR_STREET_NAMES) if rng.random() < 0.8 else t.faker.last_name()
    return f"{number} {weighted(rng, FR_STREET_TYPES)} {name}"


def en_street(t: Text) -> str:
    rng = t.rng
    if t.region == "US":
        number = str(rng.randint(1, 9999))
    else:
        number = str(rng.randint(1, 250))
        if rng.random() < 0.12:
            number += rng.choice("ABab")
    name = rng.choice(EN_STREET_NAMES) if rng.random() < 0.8 else t.faker.last_name()
    return f"{number} {name} {weighted(rng, EN_STREET_TYPES)}"


def slot_street(t: Text) -> list[Piece]:
    street = fr_street(t) if t.lang == "fr" else en_street(t)
    return [Piece(street, STREET, "place")]


def slot_cp(t: Text) -> list[Piece]:
    faker = t.world.fakers["fr_FR"]
    postcode = ""
    while not ("01000" <= postcode <= "95999" or "97100" <= postcode <= "97699"):
        postcode = faker.postcode()
    if t.rng.random() < 0.6:  # most commune codes end in 0 (75002 and CEDEX aside)
        postcode = postcode[:4] + "0"
    return [Piece(postcode, POSTAL, "code")]


def slot_city(t: Text) -> list[Piece]:
    if t.region == "FR":
        city = t.rng.choice(FR_CITIES)
        return [Piece(city.upper() if t.rng.random() < 0.2 else city, None, "place")]
    if t.region == "US":
        return [Piece(t.rng.choice(US_CITIES)[0], None, "place")]
    return [Piece(t.rng.choice(UK_CITIES), None, "place")]


def slot_addr(t: Text) -> list[Piece]:
    if t.region == "FR":
        sep = weighted(t.rng, [(", ", 75), (" ", 15), (" – ", 10)])
        return [*t.slot("street"), lit(sep), *t.slot("cp"), lit(" "), *t.slot("city")]
    if t.region == "GB":
        pieces = [*t.slot("street"), lit(", "), *t.slot("city")]
        pieces += [lit(" "), code(t.faker.postcode())]
        if t.rng.random() < 0.12:
            pieces.insert(0, lit(f"Flat {t.rng.randint(1, 12)}, "))
        return pieces
    city, state = t.rng.choice(US_CITIES)
    pieces = [*t.slot("street"), lit(", "), Piece(city, None, "place")]
    pieces += [lit(", "), code(f"{state} {t.faker.zipcode()}")]
    if t.rng.random() < 0.15:
        kind = t.rng.choice(["Apt", "Apt.", "Suite"])
        apt = f"{kind} {t.rng.randint(1, 30)}{t.rng.choice('ABCD')}"
        pieces.insert(0, lit(f"{apt}, "))
    return pieces


def slot_title(t: Text) -> list[Piece]:
    return [lit(t.person(1).title)]


def slot_last(t: Text) -> list[Piece]:
    return [Piece(t.person(1).last_display, PERSON, "name")]


def slot_email(t: Text) -> list[Piece]:
    p = t.person(1)
    local = email_local(t.rng, p.first, p.last, p.born)
    if t.lang == "fr":
        domain = t.rng.choice(FR_EMAIL_DOMAINS)
    else:
        domain = t.rng.choice(EN_EMAIL_DOMAINS[t.region])
    if t.rng.random() < 0.1:
        domain = t.faker.domain_name()
    return [Piece(f"{local}@{domain}", EMAIL, "code")]


def slot_email2(t: Text) -> list[Piece]:
    roles = (
        ["compta", "facturation", "contact", "achats"]
        if t.lang == "fr"
        else ["billing", "accounts", "info", "office"]
    )
    return [Piece(f"{t.rng.choice(roles)}@{t.faker.domain_name()}", EMAIL, "code")]


def slot_phone(t: Text) -> list[Piece]:
    maker = {"FR": fr_phone, "US": us_phone, "GB": uk_phone}[t.region]
    return [Piece(maker(t.rng), PHONE, "code")]


def slot_iban(t: Text) -> list[Piece]:
    if t.lang == "fr":
        locale = weighted(
            t.rng, [("fr_FR", 76), ("de_DE", 8), ("es_ES", 8), ("nl_BE", 8)]
        )
    else:
        locale = weighted(t.rng, [("en_GB", 60), ("de_DE", 20), ("fr_FR", 20)])
    return [Piece(iban_value(t.rng, t.world.fakers[locale]), IBAN, "code")]


def slot_dob(t: Text) -> list[Piece]:
    born = t.person(1).born
    text = fr_date(t.rng, born) if t.lang == "fr" else en_date(t.rng, born, t.region)
    return [Piece(text, DOB, "code")]


def slot_date(t: Text) -> list[Piece]:
    d = random_date(t.rng, 2023, 2025)
    if t.lang == "fr":
        if t.rng.random() < 0.15:
            return [code(f"{d.day} {FR_MONTHS[d.month - 1]}")]
        return [code(fr_date(t.rng, d, short_year=False))]
    if t.rng.random() < 0.15:
        return [code(f"{EN_MONTHS[d.month - 1]} {d.day}")]
    return [code(en_date(t.rng, d, t.region))]


def slot_nir(t: Text) -> list[Piece]:
    p = t.person(1)
    return [Piece(nir_value(t.rng, "2" if p.female else "1", p.born), NIR, "code")]


def slot_siren(t: Text) -> list[Piece]:
    number = siren_number(t.rng)
    return [Piece(number if t.rng.random() < 0.4 else group(number, 3), SIREN, "code")]


def slot_siret(t: Text) -> list[Piece]:
    n = siret_number(t.rng)
    text = n if t.rng.random() < 0.4 else f"{n[:3]} {n[3:6]} {n[6:9]} {n[9:]}"
    return [Piece(text, SIRET, "code")]


def slot_tva(t: Text) -> list[Piece]:
    n = tva_number(t.rng)
    text = n if t.rng.random() < 0.7 else f"{n[:2]} {n[2:4]} {group(n[4:], 3)}"
    return [Piece(text, VAT, "code")]


def slot_amount(t: Text) -> list[Piece]:
    rng = t.rng
    euros, cents = (
        rng.choice([rng.randint(5, 300), rng.randint(1000, 2500)]),
        rng.randint(0, 99),
    )
    if t.lang == "fr":
        whole = f"{euros:,}".replace(",", " ")
        options = [
            (f"{whole},{cents:02d} €", 50),
            (f"{euros} euros", 20),
            (f"{whole},{cents:02d} EUR", 15),
            (f"{euros} €", 15),
        ]
    else:
        symbol = "$" if t.region == "US" else "£"
        options = [
            (f"{symbol}{euros:,}.{cents:02d}", 60),
            (f"{symbol}{euros}", 25),
            (f"€{euros}", 15),
        ]
    return [code(weighted(rng, options))]


def slot_time(t: Text) -> list[Piece]:
    rng = t.rng
    hour, minute = rng.randint(8, 19), rng.choice([0, 0, 15, 30, 45])
    if t.lang == "fr":
        options = [
            (f"{hour}h{minute:02d}" if minute else f"{hour}h", 60),
            (f"{hour}:{minute:02d}", 25),
            (f"{hour} h", 15),
        ]
    else:
        h12 = hour - 12 if hour > 12 else hour
        suffix = "pm" if hour >= 12 else "am"
        options = [
            (f"{h12}:{minute:02d} {suffix}", 50),
            (f"{h12}{suffix}", 25),
            (f"{hour}:{minute:02d}", 25),
        ]
    return [code(weighted(rng, options))]


def slot_pct(t: Text) -> list[Piece]:
    value = t.rng.choice([5, 10, 15, 20, 25, 30, 40, 50])
    if t.lang == "fr":
        return [code(t.rng.choice([f"{value} %", f"{value}%", f"{value},5 %"]))]
    return [code(t.rng.choice([f"{value}%", f"{value}.5%", f"{value} percent"]))]


def slot_order(t: Text) -> list[Piece]:
    rng = t.rng
    year = rng.randint(2023, 2025)
    options = [
        (str(rng.randint(1_000_000, 9_999_999)), 30),
        (
            f"CMD-{year}-{digits(rng, 6)}"
            if t.lang == "fr"
            else f"{digits(rng, 3)}-{digits(rng, 7)}",
            25,
        ),
        (f"#{rng.choice(UPPER)}{digits(rng, 5)}", 20),
        (f"{rng.choice('123456789')}{digits(rng, 8)}", 15),
        (f"W{digits(rng, 9)}", 10),
    ]
    return [code(weighted(rng, options))]


def slot_ref(t: Text) -> list[Piece]:
    rng = t.rng
    options = [
        f"{letters(rng, 2)}-{digits(rng, 4)}",
        "B0" + "".join(rng.choice(UPPER + DIGITS) for _ in range(8)),  # ASIN-like
        f"SKU-{digits(rng, 5)}-{rng.choice(UPPER)}",
        f"{digits(rng, 4)}-{rng.choice(UPPER)}{rng.choice(UPPER)}",
        f"{rng.choice('34')}{digits(rng, 12)}",  # EAN-13 like
    ]
    return [code(rng.choice(options))]


def slot_tracking(t: Text) -> list[Piece]:
    rng = t.rng
    options = [
        f"6A{digits(rng, 11)}",
        f"{letters(rng, 2)}{digits(rng, 9)}{'FR' if t.lang == 'fr' else 'GB'}",
        f"1Z{digits(rng, 3)}{letters(rng, 2)}{digits(rng, 11)}",
    ]
    return [code(rng.choice(options))]


def simple_code(
    pattern: Callable[[random.Random], str],
) -> Callable[[Text], list[Piece]]:
    def render(t: Text) -> list[Piece]:
        return [code(pattern(t.rng))]

    return render


def gendered(female: str, male: str) -> Callable[[Text], list[Piece]]:
    def render(t: Text) -> list[Piece]:
        return [lit(female if t.person(1).female else male)]

    return render


SLOTS: dict[str, Callable[[Text], list[Piece]]] = {
    "name": lambda t: full_name(t, 1),
    "name2": lambda t: full_name(t, 2),
    "title": slot_title,
    "last": slot_last,
    "ne": gendered("née", "né"),
    "Ne": gendered("Née", "Né"),
    "e": gendered("e", ""),
    "email": slot_email,
    "email2": slot_email2,
    "phone": slot_phone,
    "phone2": slot_phone,
    "iban": slot_iban,
    "card": lambda t: [Piece(card_value(t.rng), CARD, "code")],
    "ip": lambda t: [Piece(ip_value(t.rng, t.faker), IP, "code")],
    "ip2": lambda t: [Piece(ip_value(t.rng, t.faker), IP, "code")],
    "street": slot_street,
    "cp": slot_cp,
    "city": slot_city,
    "addr": slot_addr,
    "dob": slot_dob,
    "nir": slot_nir,
    "siren": slot_siren,
    "siret": slot_siret,
    "tva": slot_tva,
    "company": lambda t: [
        Piece(
            t.rng.choice(FR_COMPANIES if t.lang == "fr" else EN_COMPANIES),
            None,
            "place",
        )
    ],
    "bic": lambda t: [code(t.faker.swift(length=t.rng.choice([8, 11])))],
    "date": slot_date,
    "time": slot_time,
    "time2": slot_time,
    "amount": slot_amount,
    "amount2": slot_amount,
    "pct": slot_pct,
    "order": slot_order,
    "ref": slot_ref,
    "tracking": slot_tracking,
    "ticket": simple_code(
        lambda r: r.choice(
            [
                f"#{digits(r, 5)}",
                f"INC-{r.randint(2023, 2025)}-{digits(r, 4)}",
                f"T-{digits(r, 6)}",
            ]
        )
    ),
    "invoice": simple_code(
        lambda r: r.choice(
            [f"FA-{r.randint(2023, 2025)}-{digits(r, 5)}", f"INV-{digits(r, 6)}"]
        )
    ),
    "lot": simple_code(
        lambda r: r.choice([f"L{digits(r, 6)}", f"{r.randint(10, 95)}{digits(r, 3)}"])
    ),
    "quote": simple_code(lambda r: f"DEV-{digits(r, 5)}"),
    "giftcard": simple_code(
        lambda r: f"{r.choice('456')}{digits(r, 3)} {digits(r, 4)} {digits(r, 4)}"
    ),
    "last4": simple_code(lambda r: digits(r, 4)),
    "exp": simple_code(lambda r: f"{r.randint(1, 12):02d}/{r.randint(26, 31)}"),
    "custno": simple_code(lambda r: r.choice([f"CLI-{digits(r, 6)}", digits(r, 8)])),
}

SLOT_RE = re.compile(r"\{(\w+)\}")


def render(template: str, t: Text) -> list[Piece]:
    pieces: list[Piece] = []
    pos = 0
    for match in SLOT_RE.finditer(template):
        if match.start() > pos:
            pieces.append(lit(template[pos : match.start()]))
        pieces.extend(t.slot(match.group(1)))
        pos = match.end()
    if pos < len(template):
        pieces.append(lit(template[pos:]))
    return pieces


def typo(word: str, rng: random.Random) -> str:
    i = rng.randint(1, len(word) - 2)
    kind = rng.randint(0, 2)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def informal(pieces: list[Piece], rng: random.Random) -> list[Piece]:
    """Lower case, no accents, a few typos and dropped apostrophes in template words."""
    drop_apostrophes = rng.random() < 0.5
    out = []
    for piece in pieces:
        text = strip_accents(piece.text)
        if piece.kind != "code":
            text = text.lower()
        if piece.kind == "lit":
            text = re.sub(
                r"[A-Za-z]{5,}",
                lambda m: typo(m.group(), rng) if rng.random() < 0.08 else m.group(),
                text,
            )
            if drop_apostrophes:
                text = text.replace("'", "")
        out.append(Piece(text, piece.label, piece.kind))
    return out


def assemble(pieces: list[Piece]) -> tuple[str, list[dict[str, object]]]:
    """Concatenate the pieces and compute the gold spans."""
    parts: list[str] = []
    entities: list[dict[str, object]] = []
    pos = 0
    previous: Piece | None = None
    for piece in pieces:
        text = piece.text
        if (
            piece.label is None
            and previous is not None
            and previous.label
            and previous.text.endswith(".")
            and text.startswith(".")
        ):
            text = text[1:]  # "42 Elm St." followed by a full stop
        if piece.label:
            entities.append({"type": piece.label, "start": pos, "end": pos + len(text)})
        parts.append(text)
        pos += len(text)
        previous = piece
    return "".join(parts), entities


def check_record(record: dict) -> None:
    text = record["text"]
    end = 0
    for entity in record["entities"]:
        assert end <= entity["start"] < entity["end"] <= len(text), record
        span = text[entity["start"] : entity["end"]]
        assert span, record
        assert span == span.strip(), record
        end = entity["end"]
    assert MIN_LEN <= len(text) <= MAX_LEN, (len(text), text)
    assert "  " not in text, text


# ---------------------------------------------------------------------------
# Corpus assembly
# ---------------------------------------------------------------------------


def half(items: list[str], split: str) -> list[tuple[int, str]]:
    """The phrasings (with their index in the full list) of one split."""
    start = 0 if split == "tune" else 1
    return [(i, items[i]) for i in range(start, len(items), 2)]


@dataclass
class Bank:
    """The phrasings available to one language and split."""

    lang: str
    split: str

    def __post_init__(self) -> None:
        source = PHRASES[self.lang]
        self.openers = half(source["openers"], self.split)
        self.closers = half(source["closers"], self.split)
        self.neutral = half(source["neutral"], self.split)
        self.cs = half(source["cs"], self.split)
        self.csneg = half(source["csneg"], self.split)
        self.clauses: dict[str, list[tuple[str, int, str]]] = {}
        for group_name, items in source["clauses"].items():
            label = GROUP_LABEL[group_name]
            self.clauses.setdefault(label, [])
            self.clauses[label] += [
                (group_name, i, p) for i, p in half(items, self.split)
            ]


@dataclass
class Builder:
    world: World
    bank: Bank
    counts: Counter = field(default_factory=Counter)
    cycles: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    @property
    def rng(self) -> random.Random:
        return self.world.rng

    def next_comment(self, kind: str) -> tuple[int, str]:
        """Cycle through the comments of a kind, reshuffled at every round."""
        queue = self.cycles.setdefault(kind, [])
        if not queue:
            queue.extend(getattr(self.bank, kind))
            self.rng.shuffle(queue)
        return queue.pop()

    def joiner(self, previous: list[Piece]) -> Piece:
        """Separator after a part: a phrasing may end on a value ("IBAN : FR76...")."""
        last = previous[-1].text[-1]
        if last in ",:":
            return lit(weighted(self.rng, [("\n", 50), (" ", 50)]))
        if last in ".!?)>":
            return lit(" ")
        return lit(weighted(self.rng, [("\n", 40), (". ", 40), (" – ", 10), (" ", 10)]))

    def join(self, parts: list[list[Piece]]) -> list[Piece]:
        pieces: list[Piece] = []
        for part in parts:
            if pieces:
                pieces.append(self.joiner(pieces))
            pieces += part
        return pieces

    def frame(
        self, t: Text, body: list[list[Piece]], ids: str
    ) -> tuple[list[Piece], str]:
        """Optional opener and closer around the body parts."""
        o_id, z_id = "o--", "z--"
        if self.rng.random() < 0.85:
            i, phrase = self.rng.choice(self.bank.openers)
            body, o_id = [render(phrase, t), *body], f"o{i:02d}"
        if self.rng.random() < 0.8:
            i, phrase = self.rng.choice(self.bank.closers)
            body, z_id = [*body, render(phrase, t)], f"z{i:02d}"
        return self.join(body), f"{o_id}-{ids}-{z_id}"

    def pick_clauses(self, n: int) -> list[tuple[str, int, str]]:
        """Clauses for the least-covered labels (random among the four lowest)."""
        labels = sorted(
            TYPES[self.world.lang],
            key=lambda lab: (self.counts[lab], self.rng.random()),
        )
        chosen = self.rng.sample(labels[:4], n)
        return [self.rng.choice(self.bank.clauses[label]) for label in chosen]

    def mix(self, t: Text) -> tuple[list[Piece], str]:
        clauses = self.pick_clauses(1 if self.rng.random() < 0.65 else 2)
        body = [render(phrase, t) for _, _, phrase in clauses]
        pieces, shape = self.frame(
            t, body, "-".join(f"{g}{i:02d}" for g, i, _ in clauses)
        )
        return pieces, f"mix-{shape}"

    def negmix(self, t: Text) -> tuple[list[Piece], str]:
        chosen = self.rng.sample(self.bank.neutral, 1 if self.rng.random() < 0.6 else 2)
        body = [render(phrase, t) for _, phrase in chosen]
        pieces, shape = self.frame(t, body, "-".join(f"n{i:02d}" for i, _ in chosen))
        return pieces, f"negmix-{shape}"

    def comment(self, t: Text, kind: str) -> tuple[list[Piece], str]:
        i, phrase = self.next_comment(kind)
        return render(phrase, t), f"{kind}{i:02d}"

    def attempt(self, kind: str) -> tuple[str, list[dict[str, object]], str]:
        t = Text(self.world)
        if kind in ("cs", "csneg"):
            pieces, template = self.comment(t, kind)
        else:
            pieces, template = getattr(self, kind)(t)
        if self.rng.random() < INFORMAL_RATE:
            pieces, template = informal(pieces, self.rng), template + "+inf"
        text, entities = assemble(pieces)
        return text, entities, f"{self.world.lang}-{template}"

    def record(self, number: int, kind: str) -> dict[str, object]:
        for _ in range(100):
            text, entities, template = self.attempt(kind)
            if MIN_LEN <= len(text) <= MAX_LEN:
                break
        self.counts.update(e["type"] for e in entities)
        lang, split = self.world.lang, self.world.split
        return {
            "id": f"{lang}-{split}-{number:04d}",
            "language": lang,
            "template": template,
            "text": text,
            "entities": entities,
        }


def plan(rng: random.Random, n: int) -> list[str]:
    n_neg = n // 4
    n_csneg = n_neg * 9 // 20
    n_cs = (n - n_neg) * 2 // 5
    kinds = ["csneg"] * n_csneg + ["negmix"] * (n_neg - n_csneg)
    kinds += ["cs"] * n_cs + ["mix"] * (n - n_neg - n_cs)
    rng.shuffle(kinds)
    return kinds


def build_split(lang: str, split: str) -> list[dict[str, object]]:
    world = World(lang, split, SEEDS[(lang, split)])
    builder = Builder(world, Bank(lang, split))
    records = [
        builder.record(i, kind)
        for i, kind in enumerate(plan(world.rng, N_TEXTS), start=1)
    ]
    for record in records:
        check_record(record)
    for label in TYPES[lang]:
        assert builder.counts[label] >= MIN_PER_TYPE, (
            lang,
            split,
            label,
            builder.counts[label],
        )
    return records


def check_slots() -> None:
    """Every slot used by a phrasing exists (fails fast on a typo in the lists)."""
    for lang_phrases in PHRASES.values():
        for value in lang_phrases.values():
            lists = value.values() if isinstance(value, dict) else [value]
            for items in lists:
                for phrase in items:
                    missing = set(SLOT_RE.findall(phrase)) - SLOTS.keys()
                    assert not missing, (phrase, missing)


def summary(name: str, records: list[dict[str, object]]) -> str:
    counts = Counter(e["type"] for r in records for e in r["entities"])
    templates = {r["template"] for r in records}
    no_pii = sum(1 for r in records if not r["entities"])
    lengths = sorted(len(r["text"]) for r in records)
    lines = [
        f"{name}: {len(records)} texts, {len(templates)} templates, "
        f"{no_pii} without PII, length min/median/max "
        f"{lengths[0]}/{lengths[len(lengths) // 2]}/{lengths[-1]}"
    ]
    lines += [f"    {label:<16} {count:>5}" for label, count in sorted(counts.items())]
    return "\n".join(lines)


def main() -> None:
    check_slots()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for lang in ("fr", "en"):
        templates: dict[str, set[str]] = {}
        for split in SPLITS:
            records = build_split(lang, split)
            templates[split] = {str(r["template"]) for r in records}
            lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in records]
            (OUT_DIR / f"{lang}_{split}.jsonl").write_bytes(
                "".join(lines).encode("utf-8")
            )
            print(summary(f"{lang}_{split}", records))
        assert not templates["tune"] & templates["holdout"], lang


if __name__ == "__main__":
    main()
