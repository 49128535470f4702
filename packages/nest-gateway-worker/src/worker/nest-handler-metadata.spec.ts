import { UseGuards } from '@nestjs/common';
import { NEST_METADATA, nestMetadataKeysHold } from './nest-handler-metadata';

describe('Nest handler metadata keys (the fast path reads them)', () => {
  it("match where the installed Nest's decorators write guards, interceptors, pipes, filters, params and patterns", () => {
    expect(nestMetadataKeysHold()).toBe(true);
  });

  it('a guard bound with UseGuards is found under the guards key', () => {
    class G {
      canActivate(): boolean {
        return true;
      }
    }
    @UseGuards(G)
    class C {}
    expect(Reflect.getMetadata(NEST_METADATA.guards, C)).toEqual([G]);
  });
});
