// Every string of the app, in English and French: one typed dictionary per language (the
// French one must have every key the English one has, or the type check fails). French
// is chosen when the browser prefers it; the user can switch, and the choice is kept.

import { createContext, useContext } from 'react';

const en = {
  appName: 'Parley',
  skipToContent: 'Skip to the conversation',
  language: 'Language',
  loading: 'Loading…',
  // welcome
  welcomeTitle: 'End-to-end encrypted messaging',
  register: 'Create an account',
  login: 'Log in on this device',
  username: 'User name',
  usernameHint: 'Lowercase letters, digits, dots, dashes.',
  password: 'Account password',
  passwordHint: 'At least 8 characters. The server checks it when you log in.',
  passphrase: 'Passphrase for this device',
  passphraseHint: 'Encrypts your messages and keys stored in this browser. It never leaves this device.',
  invite: 'Invite code',
  email: 'E-mail address',
  emailHint: 'Registration is open to addresses of these domains: {domains}.',
  emailHintUnlisted: 'Use the address your organisation gave you.',
  policyInvite: 'This server needs an invite code to register.',
  policyDomains: 'This server accepts addresses of some domains only.',
  policyOpen: 'Anyone may register on this server.',
  submitRegister: 'Create my account',
  submitLogin: 'Log in',
  working: 'Please wait…',
  // unlock
  unlockTitle: 'Unlock Parley',
  unlockIntro: 'Your conversations on this device are encrypted. Enter your passphrase to open them.',
  unlock: 'Unlock',
  wrongPassphrase: 'This passphrase does not open this device’s data.',
  forget: 'Remove this account from this browser',
  forgetConfirm: 'Remove all messages and keys of {user} from this browser? They cannot be recovered.',
  // main
  conversations: 'Conversations',
  noConversations: 'No conversation yet. Start one with the button above.',
  newChat: 'New chat',
  findUser: 'User name of the person',
  find: 'Start chat',
  cancel: 'Cancel',
  close: 'Close',
  you: 'You',
  lock: 'Lock',
  devices: 'Devices',
  devicesTitle: 'Your devices',
  devicesIntro: 'Every device that can read your conversations. Remove any you do not recognise.',
  thisDevice: 'This device',
  addedOn: 'Added {date}',
  removeDevice: 'Remove device {id}',
  removeDeviceConfirm: 'Remove device {id}? It will no longer receive your messages.',
  signedInAs: 'Signed in as {user}',
  unread: '{n} unread',
  noMessages: 'No messages yet.',
  selectConversation: 'Choose a conversation, or start a new chat.',
  messageLabel: 'Message',
  messagePlaceholder: 'Write a message',
  send: 'Send',
  attach: 'Attach a file',
  download: 'Download {name}',
  openingAttachment: 'Decrypting {name}…',
  attachmentFailed: '{name} could not be opened ({code}).',
  imageAlt: 'Image: {name}',
  errorTooLarge: 'This file is too large.',
  today: 'Today',
  yesterday: 'Yesterday',
  statusPending: 'Sending',
  statusSent: 'Sent',
  statusDelivered: 'Delivered',
  statusRead: 'Read',
  statusFailed: 'Not sent',
  retry: 'Retry',
  gap: 'Some messages from {user} are missing before this one.',
  replay: 'This message from {user} was already received (replayed).',
  unprocessable: 'Something sent in this conversation could not be read or verified ({code}).',
  online: 'Connected',
  connecting: 'Connecting…',
  offline: 'Offline — reconnecting',
  messagesOf: 'Messages with {name}',
  // verification
  verify: 'Verify',
  verified: 'Verified',
  notVerified: 'Not verified',
  verifyTitle: 'Verify {user}',
  verifyIntro: 'Compare these numbers with {user}, in person or on a call you trust. If they match, nobody is in the middle.',
  safetyNumber: 'Safety number',
  qrLabel: 'Safety number as a QR code',
  markVerified: 'The numbers match: mark as verified',
  keyChangedTitle: 'Security warning: {user}’s key changed',
  keyChangedBody:
    '{user}’s identity key has changed since you last talked. This happens when they reinstall Parley, or when someone tries to intercept your messages. Verify {user} again before sending anything sensitive.',
  keyChangedConfirm: 'I understand: type the user name to continue',
  acknowledge: 'Continue',
  // errors
  error: 'Something went wrong ({code}).',
  errorUnknownUser: 'There is no user with this name.',
  errorNoDevice: 'This user has no device to talk to yet.',
  errorNetwork: 'The server cannot be reached.',
  errorTaken: 'This user name is taken.',
  errorCredentials: 'Wrong user name or password.',
  errorInvite: 'This invite code is not valid.',
  errorInUse: 'Parley is already open in another tab of this browser. Close it there first.',
  errorUsername: 'A user name is 2 to 64 lowercase letters, digits, dots, dashes or underscores, starting with a letter or digit.',
  errorShort: 'The password and the passphrase need at least 8 characters each.',
  errorDomain: 'This e-mail domain is not allowed here.',
  errorEmail: 'Enter an e-mail address (name@domain).',
  errorEmailRequired: 'This server needs an e-mail address to register.',
} as const;

export type MessageKey = keyof typeof en;
export type Dictionary = Readonly<Record<MessageKey, string>>;

const fr: Dictionary = {
  appName: 'Parley',
  skipToContent: 'Aller à la conversation',
  language: 'Langue',
  loading: 'Chargement…',
  welcomeTitle: 'Messagerie chiffrée de bout en bout',
  register: 'Créer un compte',
  login: 'Se connecter sur cet appareil',
  username: 'Nom d’utilisateur',
  usernameHint: 'Minuscules, chiffres, points, tirets.',
  password: 'Mot de passe du compte',
  passwordHint: 'Au moins 8 caractères. Le serveur le vérifie à la connexion.',
  passphrase: 'Phrase de passe de cet appareil',
  passphraseHint: 'Chiffre vos messages et vos clés enregistrés dans ce navigateur. Elle ne quitte jamais cet appareil.',
  invite: 'Code d’invitation',
  email: 'Adresse électronique',
  emailHint: 'L’inscription est ouverte aux adresses de ces domaines : {domains}.',
  emailHintUnlisted: 'Utilisez l’adresse fournie par votre organisation.',
  policyInvite: 'Ce serveur demande un code d’invitation pour s’inscrire.',
  policyDomains: 'Ce serveur n’accepte que les adresses de certains domaines.',
  policyOpen: 'Tout le monde peut s’inscrire sur ce serveur.',
  submitRegister: 'Créer mon compte',
  submitLogin: 'Se connecter',
  working: 'Veuillez patienter…',
  unlockTitle: 'Déverrouiller Parley',
  unlockIntro: 'Vos conversations sur cet appareil sont chiffrées. Saisissez votre phrase de passe pour les ouvrir.',
  unlock: 'Déverrouiller',
  wrongPassphrase: 'Cette phrase de passe n’ouvre pas les données de cet appareil.',
  forget: 'Retirer ce compte de ce navigateur',
  forgetConfirm: 'Supprimer de ce navigateur tous les messages et clés de {user} ? Ils seront perdus.',
  conversations: 'Conversations',
  noConversations: 'Aucune conversation. Commencez-en une avec le bouton ci-dessus.',
  newChat: 'Nouvelle discussion',
  findUser: 'Nom d’utilisateur de la personne',
  find: 'Commencer',
  cancel: 'Annuler',
  close: 'Fermer',
  you: 'Vous',
  lock: 'Verrouiller',
  devices: 'Appareils',
  devicesTitle: 'Vos appareils',
  devicesIntro: 'Tous les appareils qui peuvent lire vos conversations. Retirez ceux que vous ne reconnaissez pas.',
  thisDevice: 'Cet appareil',
  addedOn: 'Ajouté le {date}',
  removeDevice: 'Retirer l’appareil {id}',
  removeDeviceConfirm: 'Retirer l’appareil {id} ? Il ne recevra plus vos messages.',
  signedInAs: 'Connecté en tant que {user}',
  unread: '{n} non lus',
  noMessages: 'Aucun message pour l’instant.',
  selectConversation: 'Choisissez une conversation, ou commencez une nouvelle discussion.',
  messageLabel: 'Message',
  messagePlaceholder: 'Écrire un message',
  send: 'Envoyer',
  attach: 'Joindre un fichier',
  download: 'Télécharger {name}',
  openingAttachment: 'Déchiffrement de {name}…',
  attachmentFailed: '{name} n’a pas pu être ouvert ({code}).',
  imageAlt: 'Image : {name}',
  errorTooLarge: 'Ce fichier est trop volumineux.',
  today: 'Aujourd’hui',
  yesterday: 'Hier',
  statusPending: 'Envoi en cours',
  statusSent: 'Envoyé',
  statusDelivered: 'Distribué',
  statusRead: 'Lu',
  statusFailed: 'Non envoyé',
  retry: 'Réessayer',
  gap: 'Des messages de {user} manquent avant celui-ci.',
  replay: 'Ce message de {user} a déjà été reçu (rejoué).',
  unprocessable: 'Un élément envoyé dans cette conversation n’a pas pu être lu ou vérifié ({code}).',
  online: 'Connecté',
  connecting: 'Connexion…',
  offline: 'Hors ligne — reconnexion',
  messagesOf: 'Messages avec {name}',
  verify: 'Vérifier',
  verified: 'Vérifié',
  notVerified: 'Non vérifié',
  verifyTitle: 'Vérifier {user}',
  verifyIntro: 'Comparez ces chiffres avec {user}, en personne ou lors d’un appel de confiance. S’ils sont identiques, personne ne s’interpose.',
  safetyNumber: 'Numéro de sécurité',
  qrLabel: 'Numéro de sécurité en code QR',
  markVerified: 'Les chiffres sont identiques : marquer comme vérifié',
  keyChangedTitle: 'Alerte de sécurité : la clé de {user} a changé',
  keyChangedBody:
    'La clé d’identité de {user} a changé depuis votre dernier échange. Cela arrive après une réinstallation de Parley, ou quand quelqu’un tente d’intercepter vos messages. Vérifiez de nouveau {user} avant d’envoyer quoi que ce soit de sensible.',
  keyChangedConfirm: 'J’ai compris : saisissez le nom d’utilisateur pour continuer',
  acknowledge: 'Continuer',
  error: 'Une erreur est survenue ({code}).',
  errorUnknownUser: 'Aucun utilisateur ne porte ce nom.',
  errorNoDevice: 'Cet utilisateur n’a pas encore d’appareil joignable.',
  errorNetwork: 'Le serveur est injoignable.',
  errorTaken: 'Ce nom d’utilisateur est déjà pris.',
  errorCredentials: 'Nom d’utilisateur ou mot de passe incorrect.',
  errorInvite: 'Ce code d’invitation n’est pas valide.',
  errorInUse: 'Parley est déjà ouvert dans un autre onglet de ce navigateur. Fermez-le d’abord.',
  errorUsername: 'Un nom d’utilisateur compte de 2 à 64 minuscules, chiffres, points, tirets ou soulignés, et commence par une lettre ou un chiffre.',
  errorShort: 'Le mot de passe et la phrase de passe doivent compter au moins 8 caractères chacun.',
  errorDomain: 'Ce domaine de messagerie n’est pas autorisé ici.',
  errorEmail: 'Saisissez une adresse électronique (nom@domaine).',
  errorEmailRequired: 'Ce serveur demande une adresse électronique pour s’inscrire.',
};

export type Language = 'en' | 'fr';
export const DICTIONARIES: Readonly<Record<Language, Dictionary>> = { en, fr };

const LANGUAGE_KEY = 'parley.language';

/** The saved choice, else French if the browser lists French before English, else English. */
export function initialLanguage(): Language {
  const saved = localStorage.getItem(LANGUAGE_KEY);
  if (saved === 'en' || saved === 'fr') return saved;
  for (const l of navigator.languages) {
    if (l.toLowerCase().startsWith('fr')) return 'fr';
    if (l.toLowerCase().startsWith('en')) return 'en';
  }
  return 'en';
}

export function saveLanguage(l: Language): void {
  localStorage.setItem(LANGUAGE_KEY, l);
}

export type Translate = (key: MessageKey, vars?: Readonly<Record<string, string | number>>) => string;

export function translator(l: Language): Translate {
  const d = DICTIONARIES[l];
  return (key, vars) => d[key].replace(/\{(\w+)\}/g, (whole, name: string) => (vars?.[name] !== undefined ? String(vars[name]) : whole));
}

export interface I18n {
  readonly language: Language;
  readonly t: Translate;
  readonly setLanguage: (l: Language) => void;
}

export const I18nContext = createContext<I18n>({ language: 'en', t: translator('en'), setLanguage: () => undefined });
export const useI18n = (): I18n => useContext(I18nContext);
