import { defineVectorTests } from './kinds/define.js';

defineVectorTests('passive-client-welcome');
