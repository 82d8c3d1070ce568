import { defineVectorTests } from './kinds/define.js';

defineVectorTests('welcome');
