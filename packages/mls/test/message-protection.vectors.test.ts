import { defineVectorTests } from './kinds/define.js';

defineVectorTests('message-protection');
