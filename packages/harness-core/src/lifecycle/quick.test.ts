import { describe, expect, it } from '@jest/globals';
import { stateDifferences } from './quick.js';

describe('stateDifferences', () => {
  const before = {
    services: ['s_app ccci/web:1 version=0.2.0 chaos-version= warm=true'],
    objects: ['config s_notes_cgi_v1', 'volume s_notes'],
  };

  it('is empty when the canonical is as it was', () => {
    expect(stateDifferences(before, { ...before })).toEqual([]);
  });

  it('names a service spec that changed and objects added or gone', () => {
    const after = {
      services: ['s_app ccci/web:1 version=0.3.0 chaos-version=abc warm=true'],
      objects: ['config s_notes_cgi_v2', 'volume s_notes'],
    };
    expect(stateDifferences(before, after)).toEqual([
      'services missing: s_app ccci/web:1 version=0.2.0 chaos-version= warm=true',
      'services not there before: s_app ccci/web:1 version=0.3.0 chaos-version=abc warm=true',
      'objects missing: config s_notes_cgi_v1',
      'objects not there before: config s_notes_cgi_v2',
    ]);
  });
});
