import { defineVectorTests } from './kinds/define.js';

defineVectorTests('psk_secret');
