import type { AmoHttp } from './http.ts';
import type { Pipeline, PipelineStatus } from './types.ts';

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
 * account has at most 50). A new pipeline takes its stages in its create (amocrm-api-php
 * PipelineModel::toApi: "only when the pipeline is created"); stages are added to an existing one
 * at `/api/v4/leads/pipelines/{id}/statuses` (EntitiesServices/Leads/Statuses). amoCRM adds the
 * won and lost stages to every pipeline itself.
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

  async addStages(
    pipelineId: number,
    stages: readonly { name: string; sort: number; color: string }[],
  ): Promise<PipelineStatus[]> {
    if (stages.length === 0) return [];
    const response = await this.http.post<{ _embedded?: { statuses?: PipelineStatus[] } }>(
      `/api/v4/leads/pipelines/${pipelineId}/statuses`,
      stages,
    );
    return response.data?._embedded?.statuses ?? [];
  }

  async create(pipelines: readonly NewPipeline[]): Promise<Pipeline[]> {
    if (pipelines.length === 0) return [];
    const response = await this.http.post<PipelinePage>('/api/v4/leads/pipelines', pipelines);
    return response.data?._embedded?.pipelines ?? [];
  }
}
