import type { AmoHttp } from './http.ts';
import type { Pipeline } from './types.ts';

interface PipelinePage {
  _embedded?: { pipelines?: Pipeline[] };
}

export interface NewPipeline {
  name: string;
  sort: number;
  is_main: boolean;
  is_unsorted_on: boolean;
  /** The stages besides the ones amoCRM adds itself (won 142, lost 143). */
  _embedded: { statuses: { name: string; sort: number; color: string }[] };
}

/**
 * The account's deal pipelines with their stages (`GET /api/v4/leads/pipelines`, one page: an
 * account has at most 50). Stages can be given only when a pipeline is created (amocrm-api-php
 * PipelineModel::toApi); amoCRM adds the won and lost stages to every pipeline itself.
 */
export class PipelinesApi {
  private readonly http: AmoHttp;

  constructor(http: AmoHttp) {
    this.http = http;
  }

  async list(): Promise<Pipeline[]> {
    const response = await this.http.get<PipelinePage>('/api/v4/leads/pipelines');
    if (response.status === 204 || !response.data) return [];
    return response.data._embedded?.pipelines ?? [];
  }

  async create(pipelines: readonly NewPipeline[]): Promise<Pipeline[]> {
    if (pipelines.length === 0) return [];
    const response = await this.http.post<PipelinePage>('/api/v4/leads/pipelines', pipelines);
    return response.data?._embedded?.pipelines ?? [];
  }
}
